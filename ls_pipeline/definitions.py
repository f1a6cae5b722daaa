"""The Dagster code location, as Dagster's `dg` project template builds it: every asset, job, sensor and schedule
found in the `ls_pipeline/defs/` folder (pyproject.toml's [tool.dg]), bound to the resources and executor here.
workspace.yaml, `dg dev` and `dg check defs` load `defs`."""

import warnings
from pathlib import Path

import dagster as dg

import ls_pipeline.defs
from ls_pipeline.defs.resources import resources
from ls_pipeline.workers.celery_executor import executor

HERE = Path(__file__).resolve().parent


def found_in_defs_folder() -> dg.Definitions:
    if (HERE.parent / "pyproject.toml").is_file():  # a checkout: the project's [tool.dg] says where defs/ is
        return dg.load_from_defs_folder(path_within_project=HERE)
    # An installed wheel has no pyproject.toml: the same folder, loaded by module (Dagster's older entry point).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return dg.load_defs(ls_pipeline.defs, project_root=HERE.parent)


# Built at import (not behind @dg.definitions): the runner and the tests resolve jobs from this object directly.
# By default one process per run: UMAP's numba compile and the model load, each seconds long
# (docs/performance.md#umap-and-the-neighbour-graph), are paid once, not once per step process. LS_EXECUTOR=celery
# puts the Dagster steps on Celery workers (workers/celery_executor.py).
defs = dg.Definitions.merge(
    found_in_defs_folder(),
    dg.Definitions(resources=resources(), executor=executor()),
)
