"""`ls-run` SIGKILLed at each stage, in real processes on a real Dagster instance: the next `ls-run` clears the dead
run (its pool slot included), resumes what was saved, never shows a half-written artifact, and ends with the scope
an uninterrupted run makes.

One data directory goes through a chain of runs, each killed one stage later than the one before (ingest, embedding,
UMAP, clustering, labels), then a run that finishes. Each rerun starts behind the previous run's stuck state, as a
fresh rerun would: it must get past it (to its own kill point, or to the end) within a few times an uninterrupted
run, or the test fails on the hang.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from dagster_graphql import DagsterGraphQLClient

from tests.ls_run_support import DATASET, ROWS, Run, new_data_dir, write_source
from tests.test_crash_resume import FolderWatch
from tests.test_dagster_server import BIN, ROOT, WORKSPACE, env_for, free_port, start, stop, wait_until_responds

FOLDERS = ("embeddings", "umaps", "clusters", "scopes")
# Where each run is killed: the mark that says it got there, the step held there (if any), and the folder where
# nothing may be published yet when the kill lands (the kill came while that stage computed).
KILLS = {
    "ingest": ("STEP ingest", "ingest", None),
    "embedding": (f"EMBEDDED {ROWS // 2}", None, "embeddings"),
    "umap": ("STEP umap", None, "umaps"),
    "clustering": ("STEP cluster", None, "clusters"),
    "labels": ("STEP label", "label", None),
}


def published(root: Path, folder: str) -> list[str]:
    found = root / DATASET / folder
    return sorted(p.name for p in found.glob("*.json")) if found.is_dir() else []


def artifact_names(root: Path) -> set[str]:
    return {p.name for folder in FOLDERS for p in (root / DATASET / folder).iterdir()}


def scope_rows(root: Path) -> pd.DataFrame:
    [table] = (root / DATASET / "scopes").glob("scopes-*.parquet")
    return pd.read_parquet(table).set_index("ls_index").sort_index()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_source(tmp_path_factory.mktemp("killed-source"))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory, source: Path) -> tuple[pd.DataFrame, set[str], float]:
    """The scope of a run nobody killed, the files it wrote, and how long it took, start-up included."""
    root = new_data_dir(tmp_path_factory.mktemp("uninterrupted"), source)
    seconds = Run(root, source, "clean").finish(limit_s=600)
    return scope_rows(root), artifact_names(root), seconds


def test_ls_run_killed_at_each_stage_then_rerun_ends_with_the_scope_of_an_uninterrupted_run(
    tmp_path: Path, source: Path, uninterrupted: tuple[pd.DataFrame, set[str], float]
) -> None:
    clean_scope, clean_files, clean_s = uninterrupted
    limit_s = 5 * clean_s + 30  # fails on a hang, not on a loaded machine
    root = new_data_dir(tmp_path, source)
    watches = [FolderWatch(root / DATASET / folder) for folder in FOLDERS]
    runs = []
    for moment, (mark, hold_at, folder) in KILLS.items():
        run = Run(root, source, moment, hold_at)
        run.kill_at(mark, limit_s)
        runs.append(run)
        if folder:
            assert published(root, folder) == [], f"killed after its {moment} was done: {run.stderr()}"
    last = Run(root, source, "last")
    last.finish(limit_s)
    seen = {name for watch in watches for name in watch.stop()}

    # Each rerun cleared the run killed before it, and resumed from what that run had saved.
    errors = [run.err.read_text() for run in [*runs[1:], last]]
    for error in errors:
        assert re.search(rf"cleared stuck run \w{{8}} \(\w+_job {DATASET}\b", error), error
    assert "holds ls_heavy" in errors[1] and "holds ls_heavy" in errors[2]  # after kills in embedding, in UMAP
    resumed = re.search(rf"resuming embedding: (\d+) of {ROWS} rows already done", errors[1])
    assert resumed and ROWS // 2 <= int(resumed.group(1)) < ROWS, errors[1]
    assert "reused embedding-001" in errors[2] and "reused umap-001" in errors[3]
    assert "reused cluster-001" in errors[4] and "wrote cluster-001-labels-001" in errors[4]

    # No run is left in progress, no slot held; the killed ones say why they ended.
    with dg.DagsterInstance.local_temp(str(root / "_dagster")) as instance:
        runs_now = instance.get_runs()
        assert not [run for run in runs_now if not run.is_finished]
        assert not instance.event_log_storage.get_concurrency_run_ids()
        failed = [run for run in runs_now if run.status == dg.DagsterRunStatus.FAILURE]
        assert len(failed) == len(KILLS)
        for run in failed:
            [failure] = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
            assert re.search(r"its process \(pid \d+ on .+\) is gone", failure.message), failure.message

    # Only finished artifacts were ever visible, one of each, and the scope is the uninterrupted run's: the same
    # x, y, cluster and label per row, exactly. The resumed embedding batched its rows differently, and a row's vector
    # does not depend on its batch (what lets the embedding's fingerprint leave the batch size out).
    # The same files as the uninterrupted run (its clustering's redrawn map included), none written twice.
    final = artifact_names(root)
    assert final == clean_files
    assert {name for name in seen if not name.startswith(".")} <= final
    pd.testing.assert_frame_equal(scope_rows(root), clean_scope)


@pytest.mark.filterwarnings("ignore::DeprecationWarning:gql")
def test_a_ui_run_whose_worker_dies_is_failed_by_run_monitoring_and_frees_its_slot(
    tmp_path: Path, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real webserver and daemon: a run launched as the UI launches it, its run worker SIGKILLed mid-embedding
    together with the code server that started it (which would otherwise notice its child's death itself), as the
    OOM killer or `kill -9` of a process tree does. Run monitoring (polling every 3 s here) asks our run launcher,
    which finds the worker gone; the run is marked failed and the daemon frees its slot, with no `ls-run` involved."""
    from ls_pipeline import steps
    from ls_pipeline.stages.ingest import IngestParams
    from ls_pipeline.store import DataDir

    root = new_data_dir(tmp_path, source)
    steps.ingest(DataDir(root), DATASET, pd.read_parquet(source), IngestParams(text_column="text"))
    home = root / "_dagster"
    home.mkdir()
    config = (ROOT / "dagster.yaml").read_text()
    assert "poll_interval_seconds: 30" in config
    (home / "dagster.yaml").write_text(config.replace("poll_interval_seconds: 30", "poll_interval_seconds: 3"))
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        instance.add_dynamic_partitions("datasets", [DATASET])
        instance.add_dynamic_partitions("recipes", ["small"])
    port = free_port()
    dev = [sys.executable, "-m", "ls_pipeline.runs.launch", str(BIN / "dg"), "dev", "-w", WORKSPACE]
    log = tmp_path / "dg-dev.log"
    server = start([*dev, "-h", "127.0.0.1", "-p", str(port)], env_for(root, home, monkeypatch), log)
    try:
        wait_until_responds(f"http://127.0.0.1:{port}/server_info", [server], log)
        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        key = f"{DATASET}|small"
        run_id = client.submit_job_execution("recipe_job", tags={"dagster/partition": key})
        staged = root / DATASET / "embeddings"
        deadline = time.monotonic() + 300
        while not (staged.is_dir() and any(p.name.endswith(".partial") for p in staged.iterdir())):
            ended = client.get_run_status(run_id) in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE)
            assert not ended and time.monotonic() < deadline and server.poll() is None, log.read_text()[-3000:]
            time.sleep(0.2)
        with dg.DagsterInstance.local_temp(str(home)) as instance:
            # The run worker's pid, as Dagster's engine events give it (the worker's own process runs the steps).
            [started] = {
                event.dagster_event.engine_event_data.metadata["pid"].value
                for event in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
                if "pid" in event.dagster_event.engine_event_data.metadata
            }
            code_server = int(Path(f"/proc/{started}/stat").read_text().rsplit(")", 1)[1].split()[1])
            for pid in (code_server, int(started)):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 120
            while instance.event_log_storage.get_concurrency_run_ids():
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.5)
            run = instance.get_run_by_id(run_id)
            assert run is not None and run.status == dg.DagsterRunStatus.FAILURE
            [failure] = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
            assert f"its process (pid {started} on " in failure.message, failure.message
    finally:
        stop([server])
