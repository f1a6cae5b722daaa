"""The Dagster code location (workspace.yaml loads `defs`): Latent Scope's assets, jobs, sensors and schedule."""

import dagster as dg

from ls_pipeline.defs import assets, schedules, sensors, sweep
from ls_pipeline.defs.resources import resources

defs = dg.Definitions(
    assets=[assets.ingest, *assets.RECIPE_ASSETS],
    jobs=[assets.ingest_job, assets.recipe_job, sweep.sweep_job],
    sensors=[
        sensors.inbox_sensor,
        sensors.ingested_sensor,
        sensors.import_failed_sensor,
        sensors.import_canceled_sensor,
    ],
    schedules=[schedules.reingest_schedule],
    resources=resources(),
    # One process per run: UMAP's numba compile (~11 s idle, 15-50 s loaded) and the model load are paid once,
    # not once per step process. Steps of a run are sequential anyway (one heavy step at a time on 2 cores).
    executor=dg.in_process_executor,
)
