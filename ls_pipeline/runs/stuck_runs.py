"""Stuck runs: runs the instance shows in progress whose process is gone, and the pool slots they hold.

The one mechanism that frees slots here. Dagster frees a step's slot when the step ends and, with
`free_slots_after_run_end_seconds` (dagster.yaml), the daemon frees the slots of runs marked ended; nothing marks a run
ended whose process died unseen (DefaultRunLauncher checks no worker, its code server notices a dead worker only while
the server itself lives, and `ls-run` runs no daemon). So:
`ls-run`, `ls-run --clear-stuck` and the start of `dg dev` (launch.py) call `clear_stuck_runs`; the daemon's run
monitoring asks our run launcher (run_launcher.py), which judges a worker the same way; an `ls-run` waiting for a
slot clears again while it waits (pool_wait.py); and a run that ended, by whatever means, gets its slots back at
once (`free_slots_of_ended_runs`), which is also what a Celery run whose worker died needs (runner.submit).
"""

from __future__ import annotations

import dataclasses
import datetime
import logging

import dagster as dg

from ls_pipeline.runs.run_process import judge

IN_PROGRESS = [dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING]
RERUN = "run the same command again: finished artifacts are reused and the embedding resumes from its last batch"

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class StuckRun:
    run: dg.DagsterRun
    started: float | None
    reason: str
    pools: tuple[str, ...]

    def line(self) -> str:
        """One line for a person: which run, since when, why it counts as stuck, what it holds."""
        holds = f"; holds {', '.join(self.pools)}" if self.pools else ""
        return f"run {describe_run(self.run, self.started)}: {self.reason}{holds}"

    def cleared_line(self) -> str:
        return f"cleared stuck {self.line()} (marked it ended, freed its slots)"


def describe_run(run: dg.DagsterRun, started: float | None) -> str:
    partition = run.tags.get("dagster/partition")
    what = f"{run.job_name} {partition}" if partition else run.job_name
    return f"{run.run_id[:8]} ({what}, started {clock(started)})" if started else f"{run.run_id[:8]} ({what})"


def clock(timestamp: float | datetime.datetime | None) -> str:
    if timestamp is None:
        return "at an unknown time"
    moment = timestamp if isinstance(timestamp, datetime.datetime) else datetime.datetime.fromtimestamp(timestamp)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def pools_by_run(instance: dg.DagsterInstance) -> dict[str, set[str]]:
    """The pools each run holds a slot of or waits for."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return {}
    found: dict[str, set[str]] = {}
    for pool in storage.get_concurrency_keys():
        for step in storage.get_concurrency_info(pool).pending_steps:  # claimed slots are assigned steps too
            found.setdefault(step.run_id, set()).add(pool)
    return found


def find_stuck_runs(instance: dg.DagsterInstance) -> list[StuckRun]:
    """Runs in progress whose process is known to be gone (on this host: runs elsewhere are left alone)."""
    pools = pools_by_run(instance)
    stuck = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=IN_PROGRESS)):
        verdict = judge(instance, record.dagster_run)
        if verdict.alive is False:
            held = tuple(sorted(pools.get(record.dagster_run.run_id, ())))
            stuck.append(StuckRun(record.dagster_run, record.start_time, verdict.reason, held))
    return stuck


def clear_stuck_runs(instance: dg.DagsterInstance) -> list[StuckRun]:
    """Mark each stuck run failed (canceled, if it was being canceled) and free its slots; the runs cleared."""
    cleared = []
    for stuck in find_stuck_runs(instance):
        run = instance.get_run_by_id(stuck.run.run_id)
        if run is None or run.status not in IN_PROGRESS:  # it ended meanwhile, or another sweep got there first
            continue
        message = f"{stuck.reason}, so the run was marked ended and its pool slots freed; {RERUN}"
        if run.status == dg.DagsterRunStatus.CANCELING:
            instance.report_run_canceled(run, message)
        else:
            instance.report_run_failed(run, message)
        cleared.append(stuck)
    free_slots_of_ended_runs(instance)
    return cleared


def clear_and_log(instance: dg.DagsterInstance) -> None:
    """Clear stuck runs, a log line for each (ls-run's stderr)."""
    for stuck in clear_stuck_runs(instance):
        log.warning(stuck.cleared_line())


def free_slots_of_ended_runs(instance: dg.DagsterInstance) -> list[str]:
    """Free the slots still held (or waited for) by runs that have ended or no longer exist; their ids."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return []
    freed = []
    for run_id in storage.get_concurrency_run_ids():
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            storage.free_concurrency_slots_for_run(run_id)
            freed.append(run_id)
    return freed
