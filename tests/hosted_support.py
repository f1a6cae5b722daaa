"""The inbox-to-scope path of a hosted import, driven through the real Dagster sensors and jobs in a test."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from ls_pipeline.definitions import defs
from ls_pipeline.defs.resources import DataDirResource
from ls_pipeline.defs.sensors import inbox_sensor

EMBEDDING = dg.AssetKey("embedding")


@contextmanager
def temp_instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """A persistent instance in a temporary DAGSTER_HOME, as the daemon would use."""
    (tmp_path / "dagster_home").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp_path / "dagster_home")) as persistent:
        yield persistent


def evaluate(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, root: Path) -> dg.SensorResult:
    resources = {"data_dir": DataDirResource(path=str(root))}
    with dg.build_sensor_context(instance=instance, resources=resources, definitions=defs) as context:
        result = sensor(context)
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def settle(root: Path, name: str) -> None:
    """Age the upload past the inbox sensor's settle time, as if it arrived a minute ago."""
    for path in (root / "_inbox").glob(f"{name}.*"):
        past = time.time() - 60
        os.utime(path, (past, past))


def automation_tick(instance: dg.DagsterInstance, before: object = None) -> dg.EvaluateAutomationConditionsResult:
    """One tick of the automation sensor over the code location's conditions (after `before`, a previous tick)."""
    cursor = getattr(before, "cursor", None)
    return dg.evaluate_automation_conditions(defs, instance, cursor=cursor)  # type: ignore[arg-type]


def recipe_partitions(tick: dg.EvaluateAutomationConditionsResult) -> list[str]:
    return sorted(str(key) for key in tick.get_requested_partitions(EMBEDDING))


def run_import(instance: dg.DagsterInstance, root: Path, name: str) -> None:
    """What the daemon does for an upload: the inbox sensor's ingest run, then automation's recipe run.
    The caller sets LATENT_SCOPE_DATA to root (the jobs' data_dir resource reads it)."""
    settle(root, name)
    before = automation_tick(instance)
    [ingest] = [r for r in evaluate(inbox_sensor, instance, root).run_requests if r.partition_key == name]
    job = defs.resolve_job_def("ingest_job")
    assert job.execute_in_process(run_config=ingest.run_config, instance=instance, partition_key=name).success
    for key in recipe_partitions(automation_tick(instance, before)):
        recipe_job = defs.resolve_job_def("recipe_job")
        assert recipe_job.execute_in_process(instance=instance, partition_key=key).success
