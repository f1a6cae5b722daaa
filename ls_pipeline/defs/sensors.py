"""Sensors: files dropped in the inbox become datasets; a failed or stopped run leaves a note beside its file.

A dataset whose rows changed reruns its recipes by declarative automation (defs/automation.py), not here.
"""

# No `from __future__ import annotations`: Dagster reads config and resource types from live annotations.

import json
from collections.abc import Sequence

import dagster as dg

from ls_pipeline import settings
from ls_pipeline.defs.assets import ingest_run_config
from ls_pipeline.defs.failures import step_failure_line
from ls_pipeline.defs.partitions import datasets, recipes
from ls_pipeline.defs.resources import DataDirResource
from ls_pipeline.recipe import recipe_names
from ls_pipeline.sources.inbox import SETTLE_S, file_key, note_failure, reject
from ls_pipeline.steps.ingest import try_validate
from ls_pipeline.store.datadir import DataDir

INTERVAL_S = 15
JOB_TIMEOUT_ENV = "LATENT_SCOPE_JOB_TIMEOUT_SEC"
MAX_RUNTIME_TAG = "dagster/max_runtime"


# What the run status sensors watch: every run of this code location (the runs automation starts, which take an
# inbox file to a scope, are Dagster's own asset jobs); a run of a dataset with no inbox file leaves no note.
_WATCH_RUNS = {"minimum_interval_seconds": INTERVAL_S, "default_status": dg.DefaultSensorStatus.RUNNING}


def run_tags() -> dict[str, str]:
    """Tags for the runs sensors start: LATENT_SCOPE_JOB_TIMEOUT_SEC bounds each one (Dagster's run monitoring,
    enabled in dagster.yaml, cancels a run that goes past it; `import_failed_sensor` then says so)."""
    limit = settings.get(JOB_TIMEOUT_ENV)
    return {} if limit is None else {MAX_RUNTIME_TAG: str(limit)}


def partition_requests(
    instance: dg.DagsterInstance, data: DataDir, dataset_names: Sequence[str] = ()
) -> list[dg.AddDynamicPartitionsRequest]:
    """Add requests for new datasets and for recipes registered in _recipes/ (or shipped) but not yet known."""
    found = []
    for partitions, wanted in ((datasets, dataset_names), (recipes, recipe_names(data))):
        missing = sorted(set(wanted) - set(instance.get_dynamic_partitions(partitions.name)))
        if missing:
            found.append(partitions.build_add_request(missing))
    return found


# A sensor, not an automation condition: a file appearing in a folder is nothing Dagster sees on its own.
@dg.sensor(job_name="ingest_job", minimum_interval_seconds=INTERVAL_S, default_status=dg.DefaultSensorStatus.RUNNING)
def inbox_sensor(context: dg.SensorEvaluationContext, data_dir: DataDirResource) -> dg.SensorResult:
    """A new or changed file in _inbox/ is ingested as the dataset named by its stem; a bad one is moved aside."""
    data = data_dir.data()
    seen: dict[str, str] = json.loads(context.cursor or "{}")
    requests, names, tags = [], [], run_tags()
    for path in data.inbox_files(SETTLE_S):
        try:
            key = file_key(path)
            if seen.get(path.name) == key:
                continue
            name, problem = try_validate(path)
            if problem or name is None:
                moved = reject(data, path, problem or "unreadable")
                context.log.warning(f"rejected {path.name}: {problem} (moved to {moved})")
                seen.pop(path.name, None)
                continue
        except OSError as exc:  # vanished or unreadable between listing and reading: look again next tick
            context.log.warning(f"skipped {path.name}: {exc}")
            continue
        seen[path.name] = key
        names.append(name)
        run_config = ingest_run_config(path)
        requests.append(dg.RunRequest(run_key=f"inbox:{key}", partition_key=name, run_config=run_config, tags=tags))
        context.log.info(f"{path.name}: ingest as dataset {name!r}")
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps(seen, sort_keys=True),
        dynamic_partitions_requests=partition_requests(context.instance, data, names),
    )


# Run status sensors: automation conditions decide what to run, not what to do once a run has failed.
@dg.run_status_sensor(run_status=dg.DagsterRunStatus.FAILURE, **_WATCH_RUNS)
def import_failed_sensor(context: dg.RunStatusSensorContext, data_dir: DataDirResource) -> None:
    """A failed run of a dataset that came from the inbox leaves a one-line note beside the rejected files,
    so whoever dropped (or uploaded) the file can see why no scope came of it."""
    record_failure(context, data_dir.data(), failure_reason(context))


@dg.run_status_sensor(run_status=dg.DagsterRunStatus.CANCELED, **_WATCH_RUNS)
def import_canceled_sensor(context: dg.RunStatusSensorContext, data_dir: DataDirResource) -> None:
    """A run stopped by LATENT_SCOPE_JOB_TIMEOUT_SEC (or by hand) is noted the same way."""
    stopped = stopped_by_monitoring(context)
    record_failure(context, data_dir.data(), (stopped and timeout_reason(context)) or "the run was canceled")


def timeout_reason(context: dg.RunStatusSensorContext) -> str | None:
    limit = context.dagster_run.tags.get(MAX_RUNTIME_TAG)
    if not limit:
        return None
    return f"the run took longer than {JOB_TIMEOUT_ENV}={limit} s and was stopped; import fewer rows or raise the limit"


def stopped_by_monitoring(context: dg.RunStatusSensorContext) -> bool:
    """Whether the run was asked to stop once it had run past its max-runtime tag (a stop by hand is earlier)."""
    limit = context.dagster_run.tags.get(MAX_RUNTIME_TAG)
    run_id = context.dagster_run.run_id
    record = context.instance.get_run_record_by_id(run_id)
    if not limit or record is None or record.start_time is None:
        return False
    stops = context.instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_CANCELING)
    return any(stop.timestamp - record.start_time >= float(limit) for stop in stops)


def failure_reason(context: dg.RunStatusSensorContext) -> str:
    """The first step failure's own message (a UserError's one line), else the run's failure event message."""
    if stopped_by_monitoring(context):
        # The daemon marks the run CANCELING, terminates it, then reports FAILURE, often before the
        # interrupted step has logged its own failure: the canceling event is the reliable sign.
        return timeout_reason(context) or "the run was interrupted"
    for event in context.instance.all_logs(context.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        error = event.dagster_event.step_failure_data.error if event.dagster_event else None
        if error is None:
            continue
        if error.cls_name == "DagsterExecutionInterruptedError":
            # Run monitoring stops an in-process run by interrupting its step: the run ends FAILURE, not CANCELED.
            return timeout_reason(context) or "the run was interrupted"
        return step_failure_line(event.dagster_event.step_key, event.dagster_event.step_failure_data)
    return context.dagster_event.message or "the run failed"


def record_failure(context: dg.RunStatusSensorContext, data: DataDir, reason: str) -> None:
    tags = context.dagster_run.tags
    dataset = tags.get("dagster/partition/dataset") or tags.get("dagster/partition")
    if dataset and note_failure(data, dataset, f"{context.dagster_run.job_name} run failed: {reason}"):
        context.log.info(f"noted the failed run of dataset {dataset!r} beside its inbox file")
