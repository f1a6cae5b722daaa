"""The jobs as module-level functions, so `dg.reconstructable` can point Celery workers at the same jobs (the runner
looks them up by job name)."""

from __future__ import annotations

import dagster as dg


def recipe_job() -> dg.JobDefinition:
    from ls_pipeline.definitions import defs

    return defs.resolve_job_def("recipe_job")


def ingest_job() -> dg.JobDefinition:
    from ls_pipeline.definitions import defs

    return defs.resolve_job_def("ingest_job")
