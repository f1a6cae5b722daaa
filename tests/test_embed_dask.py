"""Embedding spread over a real Dask cluster on loopback: a scheduler and two single-threaded worker processes.

One cluster serves the module (workers keep the model between tests, as they keep it between runs); the tests run
in file order because the last two kill a worker and the scheduler. Every run uses its own data directory, so no
artifact or vector cache carries over, and the same 200 rows, so one local run is every test's reference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ls_pipeline import steps
from ls_pipeline.dask_embedding.settings import DaskSettings, from_env
from ls_pipeline.errors import UserError
from ls_pipeline.stages.embed import EmbedParams
from ls_pipeline.stages.ingest import IngestParams
from ls_pipeline.store import DataDir
from ls_pipeline.store.location import parse_root
from tests.dask_support import REPO, LoopbackCluster, free_port, worker_env
from tests.test_crash_resume import FolderWatch

ROWS, CHUNK = 200, 20
LS_EMBED = "import sys; from ls_pipeline.cli import embed_main; sys.argv = ['ls-embed', *sys.argv[1:]]; embed_main()"


@pytest.fixture(scope="module")
def cluster() -> Iterator[LoopbackCluster]:
    loopback = LoopbackCluster()
    try:
        loopback.start_scheduler()
        loopback.start_workers(2)
        yield loopback
    finally:
        loopback.close()


@pytest.fixture(scope="module")
def rows(sample_frame: pd.DataFrame) -> pd.DataFrame:
    # Real descriptions, cut to their first sentence or so: half the tokens, so the module stays cheap.
    return sample_frame.head(ROWS).assign(text=lambda f: f["text"].str.slice(0, 160))


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, rows: pd.DataFrame) -> dict[str, Any]:
    """One process, no cluster named: what every cluster run must equal."""
    ds = _dataset(tmp_path_factory.mktemp("local"), rows)
    artifact = steps.embed(ds, EmbedParams(), workers=None)
    return {"vectors": steps.read_embeddings(ds, artifact.id), "sidecar": artifact.sidecar, "ds": ds}


def _dataset(root: Path, rows: pd.DataFrame) -> Any:
    data = DataDir(root / "data")
    steps.ingest(data, "spread", rows, IngestParams(text_column="text"))
    return data.dataset("spread")


def _same_vectors(vectors: np.ndarray, reference: np.ndarray) -> None:
    assert vectors.shape == reference.shape
    assert float(np.min(np.sum(vectors * reference, axis=1))) >= 0.9999


def _staged_journal(ds: Any) -> Path:
    return next(ds.folder("embedding").glob(".*-chunks.jsonl.partial"))


def _journal_lines(ds: Any) -> list[dict[str, Any]]:
    try:
        return [json.loads(line) for line in _staged_journal(ds).read_text().splitlines() if line.endswith("}")]
    except StopIteration:
        return []


def _wait_for_chunks(ds: Any, count: int, run: threading.Thread | subprocess.Popen[str]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 120
    while len(lines := _journal_lines(ds)) < count:
        assert time.monotonic() < deadline and _running(run)
        time.sleep(0.02)
    return lines


def _running(run: threading.Thread | subprocess.Popen[str]) -> bool:
    return run.is_alive() if isinstance(run, threading.Thread) else run.poll() is None


def _cover_each_text_once(ds: Any, artifact_id: str, rows_embedded: int) -> list[dict[str, Any]]:
    """The published journal's chunks (each with its rows), checked to hold each embedded text exactly once."""
    lines = ds.file("embedding", artifact_id, "-chunks.jsonl").read_text().splitlines()
    chunks = [json.loads(line) for line in lines]
    rows = [row for c in chunks for row in c["rows"]]
    assert len(rows) == len(set(rows)) == rows_embedded == sum(c["texts"] for c in chunks)
    assert len({c["key"] for c in chunks}) == len(chunks)
    sidecar = ds.sidecar("embedding", artifact_id)
    assert sorted(c["key"] for c in sidecar["chunks"]) == sorted(c["key"] for c in chunks)
    return chunks


def test_without_a_scheduler_named_nothing_changes(reference: dict[str, Any]) -> None:
    sidecar, folder = reference["sidecar"], reference["ds"].folder("embedding")
    assert "dask" not in sidecar and "chunks" not in sidecar
    assert sorted(p.name for p in folder.iterdir()) == ["embedding-001.h5", "embedding-001.json"]
    assert from_env({}) is None


def test_two_workers_embed_what_one_process_does(
    cluster: LoopbackCluster, rows: pd.DataFrame, reference: dict[str, Any], tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("LS_DASK_ADDRESS", cluster.address)
    monkeypatch.setenv("LS_DASK_CHUNK_ROWS", str(CHUNK))
    ds = _dataset(tmp_path, rows)
    artifact = steps.embed(ds, EmbedParams())
    sidecar = artifact.sidecar
    assert sidecar.fingerprint == reference["sidecar"].fingerprint  # the cluster is how, not what
    _same_vectors(steps.read_embeddings(ds, artifact.id), reference["vectors"])
    assert sidecar["rows_embedded"] == reference["sidecar"]["rows_embedded"]
    chunks, workers = sidecar["chunks"], set(cluster.worker_pids())
    assert len(chunks) == -(-sidecar["rows_embedded"] // CHUNK)
    _cover_each_text_once(ds, artifact.id, sidecar["rows_embedded"])
    assert {c["worker"] for c in chunks} == workers == set(sidecar["dask"]["workers"])  # both did some
    assert sidecar["dask"] == {**sidecar["dask"], "scheduler": cluster.address, "chunk_rows": CHUNK}
    assert not [p.name for p in ds.folder("embedding").iterdir() if p.name.startswith(".")]


def test_with_the_data_on_s3_the_workers_embed_what_one_process_does(
    cluster: LoopbackCluster, rows: pd.DataFrame, reference: dict[str, Any], s3_root: str
) -> None:
    data = DataDir(parse_root(s3_root))  # a fresh bucket: its vector cache is empty, every text goes to a worker
    steps.ingest(data, "spread", rows, IngestParams(text_column="text"))
    ds = data.dataset("spread")
    artifact = steps.embed(ds, EmbedParams(), workers=DaskSettings(cluster.address, chunk_rows=CHUNK))
    sidecar = ds.sidecar("embedding", artifact.id)  # read back from the bucket
    assert sidecar.fingerprint == reference["sidecar"].fingerprint and artifact.id == reference["sidecar"].id
    _same_vectors(steps.read_embeddings(ds, artifact.id), reference["vectors"])
    chunks = _cover_each_text_once(ds, artifact.id, reference["sidecar"]["rows_embedded"])
    assert {c["worker"] for c in sidecar["chunks"]} == set(cluster.worker_pids())  # per chunk, who embedded it
    assert len(chunks) == len(sidecar["chunks"]) == -(-sidecar["rows_embedded"] // CHUNK)
    assert sorted(p.name for p in ds.folder("embedding").iterdir()) == [
        f"{artifact.id}-chunks.jsonl",
        f"{artifact.id}.h5",
        f"{artifact.id}.json",
    ]  # nothing staged left in the bucket


def test_a_worker_killed_mid_run_loses_nothing(
    cluster: LoopbackCluster, rows: pd.DataFrame, reference: dict[str, Any], tmp_path: Path
) -> None:
    ds = _dataset(tmp_path, rows)
    with cluster.client() as observer:
        observer.get_task_stream()  # installs the scheduler's task record: every chunk computed, on which worker
        started = time.time()
        outcome: dict[str, Any] = {}
        settings = DaskSettings(cluster.address, chunk_rows=CHUNK)
        run = threading.Thread(target=lambda: outcome.update(a=steps.embed(ds, EmbedParams(), workers=settings)))
        watch = FolderWatch(ds.folder("embedding"))
        run.start()
        before = {c["key"] for c in _wait_for_chunks(ds, 2, run)}
        busy = [w for w, keys in observer.processing().items() if keys]
        victim = busy[0] if busy else next(iter(cluster.worker_pids()))
        os.kill(cluster.worker_pids()[victim], 9)
        run.join(timeout=180)
        computed = [t["key"] for t in observer.get_task_stream(start=started) if "ls-embed-chunk" in t["key"]]
    sidecar = outcome["a"].sidecar
    _same_vectors(steps.read_embeddings(ds, outcome["a"].id), reference["vectors"])
    _cover_each_text_once(ds, outcome["a"].id, sidecar["rows_embedded"])
    after = [c for c in sidecar["chunks"] if c["key"] not in before]
    # The dead worker's share went to the other; at most one of its results was in the step's hands at the kill.
    assert after and sum(c["worker"] == victim for c in after) <= 1 and len(after) >= 2
    assert all(computed.count(key) == 1 for key in before)  # a chunk written before the kill was not redone
    seen = watch.stop()
    assert all(name.startswith(".") or name.startswith(outcome["a"].id) for name in seen)  # nothing half-visible


def test_the_scheduler_going_away_is_one_line_and_a_rerun_resumes(
    cluster: LoopbackCluster, rows: pd.DataFrame, reference: dict[str, Any], tmp_path: Path
) -> None:
    ds = _dataset(tmp_path, rows)
    env = {**worker_env(), "LATENT_SCOPE_DATA": str(ds.path.parent), "LS_DASK_ADDRESS": cluster.address}
    env["LS_DASK_CHUNK_ROWS"] = str(CHUNK)
    args = [sys.executable, "-c", LS_EMBED, "spread", "text"]
    first = subprocess.Popen(args, env=env, cwd=REPO, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    _wait_for_chunks(ds, 2, first)
    cluster.kill_scheduler()
    _, err = first.communicate(timeout=120)
    assert first.returncode == 2, err
    assert "Traceback" not in err
    failure = [line for line in err.splitlines() if line.startswith("ls-embed: error:")]
    assert len(failure) == 1 and "lost the Dask scheduler" in failure[0] and "rerun" in failure[0], err
    done = _journal_lines(ds)
    assert len(done) >= 2 and not ds.ids("embedding")  # chunks kept, no artifact published

    cluster.close()  # a worker without its scheduler is gone for good; a fresh cluster on the same address
    cluster.workers = []
    cluster.start_scheduler()
    cluster.start_workers(1)
    rerun = subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    sidecar = ds.sidecar("embedding", rerun.stdout.strip())
    _same_vectors(steps.read_embeddings(ds, sidecar.id), reference["vectors"])
    done_rows = sum(c["texts"] for c in done)
    assert sidecar["rows_resumed"] >= done_rows  # the first run's chunks were not redone
    assert sidecar["rows_embedded"] == reference["sidecar"]["rows_embedded"] - done_rows  # only the rest
    assert {c["key"] for c in done} <= {c["key"] for c in sidecar["chunks"]}  # both runs' chunks on record
    chunks = _cover_each_text_once(ds, sidecar.id, reference["sidecar"]["rows_embedded"])
    first_rows = {row for c in done for row in c["rows"]}
    assert not first_rows & {row for c in chunks if c["key"] not in {d["key"] for d in done} for row in c["rows"]}


def test_bad_dask_settings_are_one_line(rows: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="tcp://HOST:PORT"):
        from_env({"LS_DASK_ADDRESS": "localhost"})
    with pytest.raises(UserError, match="LS_DASK_CHUNK_ROWS=.many. is not an integer of at least 1"):
        from_env({"LS_DASK_ADDRESS": "tcp://127.0.0.1:8786", "LS_DASK_CHUNK_ROWS": "many"})
    ds = _dataset(tmp_path, rows.head(10))
    nobody = DaskSettings(f"tcp://127.0.0.1:{free_port()}", connect_timeout_s=1)
    with pytest.raises(UserError, match="cannot reach the Dask scheduler") as caught:
        steps.embed(ds, EmbedParams(), workers=nobody)
    assert "\n" not in str(caught.value) and not ds.ids("embedding")
