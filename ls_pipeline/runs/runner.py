"""`ls-run` through Dagster: the same definitions and the same instance as the UI, executed in this process.

The instance lives in DAGSTER_HOME (default: $LATENT_SCOPE_DATA/_dagster), so runs started here show up in
the UI's history, lineage and staleness exactly like runs launched from it.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import dagster as dg

from ls_pipeline.defs.assets import ingest_run_config
from ls_pipeline.defs.checks import failed_check_line
from ls_pipeline.defs.failures import step_failure_line
from ls_pipeline.defs.metadata import ARTIFACT_ID
from ls_pipeline.defs.partitions import add_missing, dataset_recipe_key, datasets, recipes
from ls_pipeline.errors import UserError
from ls_pipeline.recipe import load_recipe
from ls_pipeline.runs import jobs, pool_wait, reuse
from ls_pipeline.runs.run_process import process_tags
from ls_pipeline.runs.stuck_runs import clear_and_log, clear_stuck_runs, find_stuck_runs, free_slots_of_ended_runs
from ls_pipeline.store.atomic import write_bytes
from ls_pipeline.store.datadir import DataDir, check_name
from ls_pipeline.store.layout import DAGSTER_CONFIG, KIND_OF_ASSET
from ls_pipeline.workers import celery_executor

# Package data, so an installed wheel has it too; the repository's top-level dagster.yaml links to it.
INSTANCE_CONFIG = resources.files("ls_pipeline.runs").joinpath(DAGSTER_CONFIG)
# With LS_EXECUTOR=celery: the same settings on PostgreSQL (LS_POSTGRES_URL), the instance every worker shares.
WORKERS_INSTANCE_CONFIG = resources.files("ls_pipeline.runs").joinpath("dagster-postgres.yaml")


def dagster_home(data: DataDir) -> Path:
    """DAGSTER_HOME, else the data directory's Dagster folder; given the project's instance config if it has none."""
    home = reuse.instance_folder(data)
    home.mkdir(parents=True, exist_ok=True)
    config = WORKERS_INSTANCE_CONFIG if celery_executor.on_workers() else INSTANCE_CONFIG
    if not (home / DAGSTER_CONFIG).exists() and config.is_file():
        (home / DAGSTER_CONFIG).write_bytes(config.read_bytes())
    elif (home / DAGSTER_CONFIG).is_file():
        follow_moved_launcher(home / DAGSTER_CONFIG)
    return home


# An instance config copied here before the run launcher moved out of defs/ names a module that no longer exists,
# and Dagster would refuse to start on it.
MOVED_LAUNCHER = ("module: ls_pipeline.defs.run_launcher", "module: ls_pipeline.runs.run_launcher")


def follow_moved_launcher(config: Path) -> None:
    """Point an instance config at the run launcher's new module; nothing else in the file changes."""
    text = config.read_text(encoding="utf-8")
    if MOVED_LAUNCHER[0] in text:
        write_bytes(config, text.replace(*MOVED_LAUNCHER).encode("utf-8"))
        logging.getLogger(__name__).info("%s now names %s", config, MOVED_LAUNCHER[1].split()[-1])


@contextlib.contextmanager
def open_instance(data: DataDir) -> Iterator[dg.DagsterInstance]:
    """The data directory's Dagster instance, opened from its folder: this process's environment is left as it is,
    so a notebook can go on to another data directory (runs get the data directory in their config: `execute`)."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # schema migration chatter on a fresh instance
    with dg.DagsterInstance.from_config(str(dagster_home(data))) as instance:
        yield instance


def data_dir_config(data: DataDir) -> dict[str, Any]:
    """Run config giving the data_dir resource this data directory, whatever LATENT_SCOPE_DATA says."""
    return {"resources": {"data_dir": {"config": {"path": str(data.root.resolve())}}}}


def register_recipe(data: DataDir, name: str) -> None:
    """Add a recipe's partition, so the UI offers it at once (the sensors would add it on their next tick)."""
    with open_instance(data) as instance:
        add_missing(instance, recipes, [name])


def stuck_run_lines(data: DataDir, clear: bool) -> list[str]:
    """`ls-run --stuck` and `--clear-stuck`: a line per stuck run of the data directory's instance."""
    with open_instance(data) as instance:
        if clear:
            return [stuck.cleared_line() for stuck in clear_stuck_runs(instance)]
        return [stuck.line() for stuck in find_stuck_runs(instance)]


def run_in_dagster(
    data: DataDir, dataset: str, recipe: str, source: Path | None = None, text_column: str | None = None
) -> dict[str, str]:
    """Ingest `source` if given, then materialize every stage of dataset x recipe; the artifact id per stage."""
    from ls_pipeline.definitions import defs  # importing it builds every definition: only when running

    check_name(dataset)
    if source is not None and not source.expanduser().is_file():
        raise UserError(f"no such file: {source}")
    load_recipe(recipe, data)  # an unknown or broken recipe fails here, in one line, before any run starts
    with open_instance(data) as instance:
        clear_and_log(instance)  # a killed earlier run must not hold the slots this run needs
        add_missing(instance, datasets, [dataset])
        add_missing(instance, recipes, [recipe])
        if source is not None:
            config = ingest_run_config(source.expanduser().resolve(), text_column)
            execute(defs.resolve_job_def("ingest_job"), instance, dataset, config, data)
        data.dataset(dataset)  # not ingested: NotFound with the fix, rather than a failed run
        result = execute(defs.resolve_job_def("recipe_job"), instance, dataset_recipe_key(dataset, recipe), None, data)
    ids = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        ids[KIND_OF_ASSET[materialization.asset_key.to_user_string()]] = materialization.metadata[ARTIFACT_ID].value
    reuse.record(data, dataset, recipe, ids)  # the next ls-run of this partition with nothing to do starts no run
    return ids


def execute(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    partition_key: str,
    run_config: dict | None = None,
    data: DataDir | None = None,
) -> dg.ExecuteInProcessResult | dg.JobExecutionResult:
    """One run of `job` for `partition_key` through `instance`; with `data`, on that data directory (else the one
    LATENT_SCOPE_DATA names where the run executes)."""
    # The console shows our own log lines (through the CLI's handler); Dagster's copy, with its tracebacks of
    # failed steps, stays in the run's log in the UI. Failures come back as one line below.
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    run_config = {**(run_config or {}), **quiet}
    if data is not None:
        resources = {**run_config.get("resources", {}), **data_dir_config(data)["resources"]}
        run_config = {**run_config, "resources": resources}
    pools = pool_wait.pools_of(job)
    pool_wait.wait_for_pools(instance, pools)  # here, not in Dagster's own wait: see pool_wait.py
    try:
        if celery_executor.on_workers():
            result = submit(job, instance, partition_key, run_config)
        else:
            run_id = str(uuid.uuid4())
            with pool_wait.watch_run(instance, run_id, pools) as watch:
                result = job.execute_in_process(
                    run_config=run_config,
                    instance=instance,
                    partition_key=partition_key,
                    raise_on_error=False,
                    run_id=run_id,
                    tags=process_tags(),  # what tells a stuck run from a live one (run_process.py)
                )
            if watch.interrupted:
                raise KeyboardInterrupt  # the run stopped while waiting for a slot: nothing was written
    except dg.DagsterInvalidConfigError as exc:  # raised before the run starts, with a multi-line report
        problems = "; ".join(" ".join(error.message.split()) for error in exc.errors) or "invalid"
        raise UserError(f"bad run config for {job.name}: {problems}") from exc
    if not result.success:
        raise UserError(f"{failure_message(result)} (run {result.run_id[:8]}, {job.name} {partition_key})")
    return result


def submit(
    job: dg.JobDefinition, instance: dg.DagsterInstance, partition_key: str, run_config: dict
) -> dg.JobExecutionResult:
    """One run of `job` through the instance with the definitions' executor (Celery): this process orchestrates,
    the workers rebuild the job from its reconstructable pointer and run the steps."""
    celery_executor.check_settings()
    partition_config = job.get_run_config_for_partition_key(partition_key) if job.partitioned_config else {}
    pointer = dg.reconstructable(getattr(jobs, job.name))  # the module-level function of the same name
    with dg.execute_job(
        pointer,
        instance,
        run_config={**partition_config, **run_config},
        tags={**job.get_tags_for_partition_key(partition_key, None), **process_tags()},
    ) as result:
        # A Dagster step whose Celery worker died never reports its end, so the orchestrator never frees its slot.
        free_slots_of_ended_runs(instance)
        return result  # its events are in memory: readable after the job's definitions are released


def failure_message(result: dg.ExecuteInProcessResult | dg.JobExecutionResult) -> str:
    """The user's one line from a failed run: a failed check, a Dagster step's Failure description, or the root
    error."""
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:  # warnings stop nothing
            asset = evaluation.asset_key.to_user_string()
            return failed_check_line(asset, evaluation.check_name, evaluation.description)
    for event in result.all_events:
        if not event.is_step_failure:
            continue
        return step_failure_line(event.step_key, event.step_failure_data)
    return lost_worker(result) or "the Dagster run failed; see its log in the Dagster UI"


def lost_worker(result: dg.ExecuteInProcessResult | dg.JobExecutionResult) -> str | None:
    """A Dagster step whose worker died reports no failure of its own: the celery executor's error names it
    ("[embedding]: billiard.exceptions.WorkerLostError: ...", written by the node for a dead pool process, or by
    celery_watch for a dead node) in the run's failure event."""
    for event in result.all_events:
        error = getattr(event.event_specific_data, "error", None)
        if error is None:
            continue
        lines = [line.strip() for line in error.message.splitlines()]
        detail = next((line for line in lines if line.startswith("[")), None)
        if detail:
            return (
                f"a worker running the Dagster step failed: {detail[:240]}; run the same command again: published "
                "artifacts are reused and the embedding resumes from its last saved batch"
            )
    return None
