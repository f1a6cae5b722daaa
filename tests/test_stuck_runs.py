"""Which runs count as stuck, on a real instance with real processes standing for run workers: a gone pid, a zombie
and a reused pid are dead; a live process, a run on another host and a run that recorded nothing are left alone.
Clearing marks the dead ones ended and frees their slots; run monitoring's health check and `ls-run --stuck` /
`--clear-stuck` give the same answers."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from ls_pipeline.cli import ls_run
from ls_pipeline.runs.run_process import HOST_TAG, PID_TAG, STARTED_TAG, judge, process_started, this_host
from ls_pipeline.runs.runner import open_instance
from ls_pipeline.runs.stuck_runs import clear_stuck_runs, find_stuck_runs, free_slots_of_ended_runs
from ls_pipeline.store import DataDir
from tests.helpers import run_cli

POOL = "ls_heavy"


@pytest.fixture
def instance(data_dir: Path) -> Iterator[dg.DagsterInstance]:
    """The data directory's own instance, with the project's dagster.yaml (our run launcher), as ls-run opens it."""
    with open_instance(DataDir(data_dir)) as opened:
        opened.event_log_storage.set_concurrency_slots(POOL, 10)
        yield opened


@pytest.fixture
def live() -> Iterator[subprocess.Popen[bytes]]:
    """A process that stays up while the test runs: a run worker that is alive."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    yield process
    process.kill()
    process.wait()


def exited_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def add_run(
    instance: dg.DagsterInstance,
    tags: dict[str, str],
    status: dg.DagsterRunStatus = dg.DagsterRunStatus.STARTED,
    holds: bool = False,
) -> dg.DagsterRun:
    run = instance.add_run(dg.DagsterRun(job_name="recipe_job", run_id=str(uuid.uuid4()), status=status, tags=tags))
    if holds:
        assert instance.event_log_storage.claim_concurrency_slot(POOL, run.run_id, "embedding").is_claimed
    return run


def process(pid: int, started: float | None = None, host: str | None = None) -> dict[str, str]:
    tags = {HOST_TAG: host or this_host(), PID_TAG: str(pid)}
    return {**tags, STARTED_TAG: f"{started:.2f}"} if started is not None else tags


def test_dead_processes_are_told_from_live_ones_and_from_runs_elsewhere(
    instance: dg.DagsterInstance, live: subprocess.Popen[bytes]
) -> None:
    started = process_started(live.pid)
    assert started is not None and abs(started - time.time()) < 120
    gone = add_run(instance, process(exited_pid(), time.time()))
    reused = add_run(instance, process(live.pid, started - 60))  # recorded a minute before that pid's process began
    alive = add_run(instance, process(live.pid, started))
    elsewhere = add_run(instance, process(exited_pid(), time.time(), host="another-machine"))
    untagged = add_run(instance, {})

    verdicts = {run.run_id: judge(instance, run) for run in (gone, reused, alive, elsewhere, untagged)}
    assert verdicts[gone.run_id].alive is False and "is gone" in verdicts[gone.run_id].reason
    assert verdicts[reused.run_id].alive is False and "later process" in verdicts[reused.run_id].reason
    assert verdicts[alive.run_id].alive is True
    assert verdicts[elsewhere.run_id].alive is None and "another-machine" in verdicts[elsewhere.run_id].reason
    assert verdicts[untagged.run_id].alive is None

    # A dead child its parent has not collected yet (a zombie) is dead too.
    zombie = subprocess.Popen(["true"])
    deadline = time.monotonic() + 30
    while Path(f"/proc/{zombie.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert judge(instance, add_run(instance, process(zombie.pid, time.time()))).alive is False
    zombie.wait()

    # Run monitoring's question, asked of the instance's run launcher: a dead worker fails, anything else runs on.
    health = {run.run_id: instance.run_launcher.check_run_worker_health(run) for run in (gone, alive, elsewhere)}
    assert [result.status.value for result in health.values()] == ["FAILED", "RUNNING", "RUNNING"]
    assert "is gone" in health[gone.run_id].msg


def test_a_run_worker_is_known_by_the_pid_in_dagsters_engine_event(
    instance: dg.DagsterInstance, live: subprocess.Popen[bytes]
) -> None:
    """Runs the daemon launches carry only the host; the worker's pid is in the event it writes when it starts."""
    running, dead = add_run(instance, {HOST_TAG: this_host()}), add_run(instance, {HOST_TAG: this_host()})
    assert judge(instance, running).alive is None  # launched, its worker not started yet
    instance.report_engine_event(f"Started process for run (pid: {live.pid}).", running)
    instance.report_engine_event(f"Started process for run (pid: {exited_pid()}).", dead)
    assert judge(instance, running).alive is True
    assert judge(instance, dead).alive is False


def test_clearing_ends_the_dead_runs_and_frees_their_slots_only(
    instance: dg.DagsterInstance, live: subprocess.Popen[bytes]
) -> None:
    failed = add_run(instance, process(exited_pid(), time.time()), holds=True)
    canceling = add_run(instance, process(exited_pid(), time.time()), dg.DagsterRunStatus.CANCELING, holds=True)
    alive = add_run(instance, process(live.pid, process_started(live.pid)), holds=True)
    elsewhere = add_run(instance, process(exited_pid(), time.time(), host="another-machine"), holds=True)
    add_run(instance, {}, dg.DagsterRunStatus.SUCCESS, holds=True)  # ended, a slot left behind (a dead Celery step's)

    assert {stuck.run.run_id for stuck in find_stuck_runs(instance)} == {failed.run_id, canceling.run_id}
    assert all(stuck.pools == (POOL,) for stuck in find_stuck_runs(instance))
    cleared = clear_stuck_runs(instance)
    assert {stuck.run.run_id for stuck in cleared} == {failed.run_id, canceling.run_id}
    status = {run.run_id: run.status for run in instance.get_runs()}
    assert status[failed.run_id] == dg.DagsterRunStatus.FAILURE
    assert status[canceling.run_id] == dg.DagsterRunStatus.CANCELED
    assert status[alive.run_id] == status[elsewhere.run_id] == dg.DagsterRunStatus.STARTED
    assert instance.event_log_storage.get_concurrency_run_ids() == {alive.run_id, elsewhere.run_id}
    [failure] = instance.all_logs(failed.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    assert "is gone, so the run was marked ended and its pool slots freed; run the same command again" in (
        failure.message
    )
    assert clear_stuck_runs(instance) == [] and free_slots_of_ended_runs(instance) == []


def test_ls_run_lists_and_clears_stuck_runs(instance: dg.DagsterInstance, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(ls_run, ["--stuck"], capsys) == (0, "no stuck runs\n", "")
    dead = add_run(instance, {**process(exited_pid(), time.time()), "dagster/partition": "posts|default"}, holds=True)
    code, out, _ = run_cli(ls_run, ["--stuck"], capsys)
    assert code == 0 and out.startswith(f"run {dead.run_id[:8]} (recipe_job posts|default") and "holds ls_heavy" in out
    assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.STARTED  # listing changes nothing
    code, out, _ = run_cli(ls_run, ["--clear-stuck"], capsys)
    assert code == 0 and out.startswith(f"cleared stuck run {dead.run_id[:8]}"), out
    assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
    assert run_cli(ls_run, ["--stuck"], capsys) == (0, "no stuck runs\n", "")

    code, out, err = run_cli(ls_run, ["posts", "--clear-stuck"], capsys)
    assert code == 2 and err.count("\n") == 1 and "take no dataset" in err
    code, out, err = run_cli(ls_run, [], capsys)
    assert code == 2 and err.count("\n") == 1 and "needs a dataset name or a data file" in err
