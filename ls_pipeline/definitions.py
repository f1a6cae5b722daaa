"""The Dagster code location (workspace.yaml loads `defs`): Latent Scope's assets, jobs, sensors and schedule."""

import dagster as dg

from ls_pipeline.defs import assets, schedules, sensors
from ls_pipeline.defs.resources import data_dir_resource

defs = dg.Definitions(
    assets=[assets.ingest, *assets.RECIPE_ASSETS],
    jobs=[assets.ingest_job, assets.recipe_job],
    sensors=[sensors.inbox_sensor, sensors.ingested_sensor],
    schedules=[schedules.reingest_schedule],
    resources={"data_dir": data_dir_resource()},
)
