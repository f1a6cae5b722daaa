"""`ls-run` needing the `ls_heavy` slot while another live run holds it, in real processes on a real instance: it says
which run it waits for, stops within seconds on SIGTERM or Ctrl-C (also when its run already waits inside Dagster),
and once the holder dies it clears that run and takes the slot."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import dagster as dg
import pytest

from ls_pipeline.runs.run_process import PID_TAG
from tests.ls_run_support import DATASET, Run, new_data_dir, write_source

LIMIT_S = 300  # to get somewhere at all: fails on a hang, not on a loaded machine
STOP_S = 20  # from a signal to the one-line message


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_source(tmp_path_factory.mktemp("wait-source"))


def run_of(root: Path, process: Run) -> dg.DagsterRun:
    """The recipe run a process executes, found by the pid it tagged its run with."""
    with dg.DagsterInstance.local_temp(str(root / "_dagster")) as instance:
        runs = instance.get_runs(dg.RunsFilter(job_name="recipe_job", tags={PID_TAG: str(process.process.pid)}))
    [run] = runs
    return run


def waits_then_stops(run: Run, holder: dg.DagsterRun, sent: signal.Signals) -> None:
    """`run` says it waits for the holder's slot, has not started its embedding, and stops on `sent` in seconds."""
    line = rf"waiting for ls_heavy, held by run {holder.run_id[:8]} \(recipe_job {DATASET}\|small, started [\d :-]+\)"
    run.wait_for(lambda: bool(re.search(line, run.err.read_text())), "the waiting line", LIMIT_S)
    assert not run.reached("STEP embed")
    sent_at = time.monotonic()
    run.process.send_signal(sent)
    while "interrupted" not in run.err.read_text():
        assert time.monotonic() - sent_at < STOP_S, f"{sent.name} did not stop the wait: {run.stderr()}"
        time.sleep(0.05)
    assert run.process.wait(timeout=60) == 130, run.stderr()
    last = run.err.read_text().strip().splitlines()[-1]
    assert last == "ls-run: interrupted; finished artifacts are kept, a rerun resumes", run.stderr()
    assert not run.reached("STEP embed")


def test_a_wait_for_a_held_slot_names_its_holder_stops_on_signals_and_outlives_a_dead_holder(
    tmp_path: Path, source: Path
) -> None:
    root = new_data_dir(tmp_path, source)
    gate = tmp_path / "gate"
    # A run that found the slot free, then lost it to another before its embedding claimed it: it waits inside its
    # Dagster run, where Dagster alone would neither say so nor stop on a signal.
    late = Run(root, source, "late", gate=gate)
    late.wait_for(lambda: late.reached("WAITED"), "the late run's look at the pool", LIMIT_S)
    holder = Run(root, source, "holder", hold_at="embed")
    holder.wait_for(lambda: holder.reached("STEP embed"), "the holder's embedding", LIMIT_S)
    held_by = run_of(root, holder)
    gate.touch()
    waits_then_stops(late, held_by, signal.SIGTERM)
    with dg.DagsterInstance.local_temp(str(root / "_dagster")) as instance:
        late_run = run_of(root, late)
        assert instance.get_run_by_id(late_run.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.event_log_storage.get_concurrency_run_ids() == {held_by.run_id}

    # Runs that find the slot held before they start their Dagster run wait in ls-run's own code.
    for sent in (signal.SIGTERM, signal.SIGINT):
        waits_then_stops(Run(root, source, f"waiting-{sent.name}"), held_by, sent)

    # The holder dies while a run waits for its slot: the waiter clears it and takes the slot.
    after = Run(root, source, "after", hold_at="embed")
    after.wait_for(lambda: f"held by run {held_by.run_id[:8]}" in after.err.read_text(), "the waiting line", LIMIT_S)
    holder.process.send_signal(signal.SIGKILL)
    holder.process.wait(timeout=60)
    after.wait_for(lambda: after.reached("STEP embed"), "the embedding after the holder died", LIMIT_S)
    assert f"cleared stuck run {held_by.run_id[:8]}" in after.err.read_text()
    after.process.send_signal(signal.SIGKILL)
    after.process.wait(timeout=60)
