"""Runs on Celery workers, on loopback: Dagster's celery executor with Debian's redis-server as the broker, the instance
on Debian's PostgreSQL, the data directory in the moto S3 server's bucket, and two Celery worker nodes
(tests/workers_support.py): `light` on the default queue, `heavy` (two processes) on ls_gpu and ls_memory.

A recipe's steps run in the workers' processes and land on S3; placement sends embedding, umap and clusters to the
heavy node; a worker process killed mid-embedding, and then a whole node, each fail the run in one line with nothing
visible, and the same command again resumes on the nodes still up; two recipes at once compute each shared stage
once and never run two pool steps at once."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from ls_pipeline.errors import UserError
from ls_pipeline.store import DataDir
from ls_pipeline.store.location import parse_root
from tests.conftest import DEMO, SMALL_RECIPE
from tests.helpers import umap_layouts
from tests.s3_support import aws_settings
from tests.workers_support import HEAVY_QUEUES, LoopbackWorkers, loopback_workers

# Enough rows that the embedding is still running when the test kills it, even on an idle machine.
ROWS = 600
LS_RUN = "import sys; from ls_pipeline import cli; sys.exit(cli.ls_run(sys.argv[1:]))"
ON_HEAVY = {"embedding", "umap", "clusters"}  # ls_gpu and ls_memory (ls_pipeline/workers/placement.py)
POOL_STEPS = {"embedding", "umap"}  # pool ls_heavy, limit 1 in dagster-postgres.yaml
EMBEDDING_TASK = re.compile(r"step_keys_to_execute\W+embedding\W")  # in a Celery task's args: the steps it runs


@pytest.fixture(scope="module")
def celery_workers() -> Iterator[LoopbackWorkers]:
    """One set of workers for the file: every test runs against the same broker, instance, bucket and workers."""
    folder = Path(tempfile.mkdtemp(prefix="ls-workers-"))
    try:
        with loopback_workers(folder) as workers:
            yield workers
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return pd.read_parquet(DEMO).head(ROWS).reset_index(drop=True)


@pytest.fixture
def on_workers(celery_workers: LoopbackWorkers, tmp_path: Path) -> Iterator[LoopbackWorkers]:
    """The workers' AWS and instance settings in this process too, to read the bucket and the event log."""
    with aws_settings(celery_workers.s3, celery_workers.scratch), pytest.MonkeyPatch.context() as patch:
        patch.setenv("LS_POSTGRES_URL", celery_workers.postgres_url)
        yield celery_workers


def _recipe(folder: Path, name: str, extra: str = "", min_cluster_size: int = 8) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(SMALL_RECIPE.replace("min_cluster_size: 8", f"min_cluster_size: {min_cluster_size}") + extra)
    return path


def _ls_run(workers: LoopbackWorkers, *args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", LS_RUN, *args],
        env=workers.env(),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(run: subprocess.Popen[str], timeout_s: float = 400) -> dict[str, str]:
    out, err = run.communicate(timeout=timeout_s)
    assert run.returncode == 0, err[-3000:]
    return dict(line.split(": ", 1) for line in out.strip().splitlines())


def _data(workers: LoopbackWorkers) -> DataDir:
    return DataDir(parse_root(workers.data))


def _step_records(workers: LoopbackWorkers, dataset: str) -> dict[str, list[dict[str, Any]]]:
    """Per recipe_job run of `dataset`: each step's start and end time, the pid it started in, its Celery node."""
    runs: dict[str, list[dict[str, Any]]] = {}
    with dg.DagsterInstance.from_config(str(workers.home)) as instance:
        for run in instance.get_runs(dg.RunsFilter(job_name="recipe_job")):
            if not str(run.tags.get("dagster/partition", "")).startswith(f"{dataset}|"):
                continue
            steps_seen: dict[str, dict[str, Any]] = {}
            for entry in instance.all_logs(run.run_id):
                event, key = entry.dagster_event, entry.step_key
                if event is None or key is None:
                    continue
                step = steps_seen.setdefault(key, {"step": key})
                if event.event_type == dg.DagsterEventType.STEP_START:
                    step.update(start=entry.timestamp, pid=event.pid)
                elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
                    step.update(end=entry.timestamp, status=event.event_type.value)
                elif event.event_type == dg.DagsterEventType.ENGINE_EVENT and "in celery worker" in event.message:
                    node = event.engine_event_data.metadata["Celery worker"].value
                    step["node"] = node.split("@")[0]
            runs[run.run_id] = list(steps_seen.values())
    return runs


def test_recipes_on_celery_workers_resume_after_a_dead_worker_and_a_dead_node_and_share_stages(
    on_workers: LoopbackWorkers, rows: pd.DataFrame, tmp_path: Path
) -> None:
    """The embedding step's pool process is killed (SIGKILL) a few batches in, then, in the next run, the whole heavy
    node: each run fails in one line with nothing visible and its pool slot freed. The same command again, on a new
    heavy node and beside a second recipe of the dataset started at once, reuses the ingest, resumes the embedding
    from the batches saved and runs every step on a worker, with the data on S3; the two recipes compute each shared
    stage once and no two pool steps run at the same time. (One test, so the runs share one ingest and embedding.)"""
    source = tmp_path / "packages.csv"
    rows.to_csv(source, index=False)
    recipe = _recipe(tmp_path, "small", extra="embed: {batch_size: 2}\n")
    run = _ls_run(on_workers, str(source), "--recipe", str(recipe), cwd=tmp_path)
    os.kill(_embedding_worker_once_batches_are_saved(on_workers, run), signal.SIGKILL)
    assert "WorkerLostError" in _one_line_failure(run)
    ds = _data(on_workers).dataset("packages")
    assert ds.ids("embedding") == []  # nothing half-written is visible (the ingest is: the reruns name no file)
    assert _claimed_pool_slots(on_workers) == []  # else every later run would wait on the dead step's slot

    started = time.time()
    run = _ls_run(on_workers, "packages", "--recipe", str(recipe), cwd=tmp_path)
    _embedding_worker_once_batches_are_saved(on_workers, run, since=started)
    on_workers.kill_node("heavy")  # nothing will ever report the step's end: the executor's watch gives up on the node
    on_workers.start_worker("heavy2", HEAVY_QUEUES, 2, tmp_path / "heavy2.log")
    assert "Celery worker node heavy@" in (last := _one_line_failure(run)) and "stopped answering" in last, last
    assert ds.ids("embedding") == [] and _claimed_pool_slots(on_workers) == []

    other = _recipe(tmp_path, "size6", extra="embed: {batch_size: 2}\n", min_cluster_size=6)
    reruns = [_ls_run(on_workers, "packages", "--recipe", str(r), cwd=tmp_path) for r in (recipe, other)]
    ids = [_finish(r) for r in reruns]
    assert ids[0]["embedding"] == ids[1]["embedding"] == "embedding-001"
    assert ids[0]["umap"] == ids[1]["umap"] == "umap-001"
    assert sorted(i["scope"] for i in ids) == ["scopes-001", "scopes-002"]
    assert ds.ids("embedding") == ["embedding-001"] and umap_layouts(ds) == ["umap-001"]
    assert sorted(ds.ids("scope")) == ["scopes-001", "scopes-002"]  # published on S3, sidecar and all
    for kind, artifact in (pair for i in ids for pair in i.items()):
        assert ds.sidecar(kind, artifact)["id"] == artifact
    resumed = ds.sidecar("embedding", "embedding-001")["rows_resumed"]
    assert 0 < resumed < ROWS, resumed  # the batches saved before the kills were not redone
    keys = on_workers.s3.keys(on_workers.data.removeprefix("s3://").split("/")[0])
    assert not [k for k in keys if k.endswith((".partial", ".tmp"))]

    pools = on_workers.wait_for_workers()
    records = list(_step_records(on_workers, "packages").values())
    passed = [r for r in records if {s.get("status") for s in r} == {"STEP_SUCCESS"}]
    failed = [r for r in records if r not in passed]
    for steps_run in failed:
        assert [s["step"] for s in steps_run if "start" in s or "status" in s] == ["embedding"]  # never ended
    assert len(failed) == len(passed) == 2
    for step in (step for steps_run in passed for step in steps_run):  # each in a worker's pool, never in ls-run
        assert step["pid"] not in {r.pid for r in reruns} and step["pid"] in pools[step["node"]], (step, pools)
        assert step["node"] == ("heavy2" if step["step"] in ON_HEAVY else "light"), step
    assert all({s["step"] for s in r} == {"embedding", "umap", "clusters", "labels", "scope"} for r in passed)
    spans = sorted((s["start"], s["end"]) for steps_run in passed for s in steps_run if s["step"] in POOL_STEPS)
    assert len(spans) == 4
    # The two recipes' runs overlapped, yet no two pool steps did: each waited for the ls_heavy slot.
    first, second = (min(s["start"] for s in r) for r in passed), (max(s["end"] for s in r) for r in passed)
    assert max(first) < min(second)
    assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False)), spans


def _one_line_failure(run: subprocess.Popen[str]) -> str:
    """ls-run's last line, once it has failed: the step, the worker's death and the fix, without a traceback."""
    _, err = run.communicate(timeout=300)
    assert run.returncode == 2, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith("ls-run: error: a worker running the Dagster step failed: [embedding]"), last
    assert "Traceback" not in err
    assert "run the same command again" in last, last
    return last


def _embedding_worker_once_batches_are_saved(
    workers: LoopbackWorkers, run: subprocess.Popen[str], since: float = 0.0
) -> int:
    """The pid of the heavy node's process embedding, once its staged vectors file has batches written `since`."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and run.poll() is None:
        staged = [p for p in workers.scratch.rglob("*.h5*") if p.name.startswith(".") and p.stat().st_mtime > since]
        active = [t for t in workers.active_steps() if t["hostname"].startswith("heavy@")]
        active = [t for t in active if EMBEDDING_TASK.search(str(t))]
        if staged and active:
            time.sleep(0.3)  # a batch or two more
            return int(active[0]["worker_pid"])
        time.sleep(0.2)
    raise AssertionError(f"the embedding step never started on the heavy node (ls-run exit {run.poll()})")


def _claimed_pool_slots(workers: LoopbackWorkers) -> list[str]:
    with dg.DagsterInstance.from_config(str(workers.home)) as instance:
        info = instance.event_log_storage.get_concurrency_info("ls_heavy")
        return [f"{slot.run_id[:8]} {slot.step_key}" for slot in info.claimed_slots]


def test_a_bad_node_timeout_is_one_line_before_any_run() -> None:
    from ls_pipeline.workers.celery_watch import node_timeout_s

    assert node_timeout_s({}) == 30.0 and node_timeout_s({"LS_CELERY_NODE_TIMEOUT_SEC": "6"}) == 6.0
    for bad in ("soon", "0", "1e9"):
        with pytest.raises(UserError, match=r"LS_CELERY_NODE_TIMEOUT_SEC=.* is not a number of seconds from 2 to 3600"):
            node_timeout_s({"LS_CELERY_NODE_TIMEOUT_SEC": bad})
