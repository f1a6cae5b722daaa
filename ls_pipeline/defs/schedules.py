"""The schedule: re-ingest every source listed in the data directory's sources file (DataDir.sources_file).

An ingest that finds the same rows changes nothing; one that finds new rows changes ingest's data version, and the
recipe stages' automation conditions rerun that dataset's recipes, so only what changed is rematerialized.
"""

# No `from __future__ import annotations`: Dagster reads config and resource types from live annotations.

import dagster as dg

from ls_pipeline import settings
from ls_pipeline.defs.assets import ingest_run_config
from ls_pipeline.defs.partitions import add_missing, datasets
from ls_pipeline.defs.resources import DataDirResource
from ls_pipeline.errors import UserError
from ls_pipeline.sources.registry import load_sources

CRON = settings.get("LS_REINGEST_CRON")  # read when the code location loads: a schedule's cron is fixed then


# A schedule, not an on_cron condition: which datasets to poll is a file in the data directory, not a partition set
# Dagster knows (a component with a configured source polls by its own cron condition instead).
@dg.schedule(job_name="ingest_job", cron_schedule=CRON, default_status=dg.DefaultScheduleStatus.RUNNING)
def reingest_schedule(
    context: dg.ScheduleEvaluationContext, data_dir: DataDirResource
) -> list[dg.RunRequest] | dg.SkipReason:
    data = data_dir.data()
    try:
        sources = load_sources(data)
    except UserError as exc:
        context.log.warning(str(exc))
        return dg.SkipReason(str(exc))
    if not sources:
        return dg.SkipReason(f"no sources listed in {data.sources_file}")
    add_missing(context.instance, datasets, list(sources))
    return [
        dg.RunRequest(partition_key=name, run_config=ingest_run_config(source.path, source.text_column))
        for name, source in sources.items()
    ]
