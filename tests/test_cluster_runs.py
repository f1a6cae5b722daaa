"""Runs on a cluster, on loopback: Dagster's celery executor with Debian's redis-server as the broker, the instance on
Debian's PostgreSQL, the data directory in the moto S3 server's bucket, and two Celery worker nodes (tests/
cluster_support.py): `light` on the default queue, `heavy` (two processes) on ls_gpu and ls_memory.

A recipe's steps run in the workers' processes and land on S3; placement sends embedding, umap and clusters to the
heavy node; two recipes at once compute each shared stage once and never run two pool steps at the same time.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from ls_pipeline import steps
from ls_pipeline.stages.ingest import IngestParams
from ls_pipeline.store import DataDir
from ls_pipeline.store.location import parse_root
from tests.cluster_support import LoopbackDagsterCluster, loopback_dagster_cluster
from tests.conftest import SMALL_RECIPE
from tests.s3_support import aws_settings

ROWS = 150
LS_RUN = "import sys; from ls_pipeline import cli; sys.exit(cli._run(sys.argv[1:]))"
ON_HEAVY = {"embedding", "umap", "clusters"}  # ls_gpu and ls_memory (ls_pipeline/defs/placement.py)
POOL_STEPS = {"embedding", "umap"}  # pool ls_heavy, limit 1 in dagster-postgres.yaml


@pytest.fixture(scope="module")
def dagster_cluster() -> Iterator[LoopbackDagsterCluster]:
    """One cluster for the file: every test runs against the same broker, instance, bucket and workers."""
    folder = Path(tempfile.mkdtemp(prefix="ls-cluster-"))
    try:
        with loopback_dagster_cluster(folder) as cluster:
            yield cluster
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def rows(sample_frame: pd.DataFrame) -> pd.DataFrame:
    return sample_frame.head(ROWS)


@pytest.fixture(scope="module")
def other_rows(sample_frame: pd.DataFrame) -> pd.DataFrame:
    """Texts the bucket's vector cache has not seen: a step given them must embed them."""
    return sample_frame.iloc[ROWS : 2 * ROWS].reset_index(drop=True)


@pytest.fixture
def on_cluster(dagster_cluster: LoopbackDagsterCluster, tmp_path: Path) -> Iterator[LoopbackDagsterCluster]:
    """The cluster's AWS and instance settings in this process too, to read the bucket and the event log."""
    with aws_settings(dagster_cluster.s3, dagster_cluster.scratch), pytest.MonkeyPatch.context() as patch:
        patch.setenv("LS_POSTGRES_URL", dagster_cluster.postgres_url)
        yield dagster_cluster


def _recipe(folder: Path, name: str, extra: str = "", min_cluster_size: int = 8) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(SMALL_RECIPE.replace("min_cluster_size: 8", f"min_cluster_size: {min_cluster_size}") + extra)
    return path


def _ls_run(cluster: LoopbackDagsterCluster, *args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", LS_RUN, *args],
        env=cluster.env(),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(run: subprocess.Popen[str], timeout_s: float = 400) -> dict[str, str]:
    out, err = run.communicate(timeout=timeout_s)
    assert run.returncode == 0, err[-3000:]
    return dict(line.split(": ", 1) for line in out.strip().splitlines())


def _data(cluster: LoopbackDagsterCluster) -> DataDir:
    return DataDir(parse_root(cluster.data))


def _step_records(cluster: LoopbackDagsterCluster, dataset: str) -> dict[str, list[dict[str, Any]]]:
    """Per recipe_job run of `dataset`: each step's start and end time, the pid it started in, its Celery node."""
    runs: dict[str, list[dict[str, Any]]] = {}
    with dg.DagsterInstance.from_config(str(cluster.home)) as instance:
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


def test_a_recipe_runs_its_steps_on_celery_workers_with_the_data_on_s3(
    on_cluster: LoopbackDagsterCluster, rows: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "packages.csv"
    rows.to_csv(source, index=False)
    run = _ls_run(on_cluster, str(source), "--recipe", str(_recipe(tmp_path, "small")), cwd=tmp_path)
    ids = _finish(run)
    assert ids["scope"] == "scopes-001" and ids["embedding"] == "embedding-001"
    ds = _data(on_cluster).dataset("packages")
    assert ds.ids("scope") == ["scopes-001"]  # published on S3, sidecar and all
    for kind, artifact in ids.items():
        assert ds.sidecar(kind, artifact)["id"] == artifact
    keys = on_cluster.s3.keys(on_cluster.data.removeprefix("s3://").split("/")[0])
    assert not [k for k in keys if k.endswith((".partial", ".tmp"))]
    pools = on_cluster.wait_for_workers()
    (steps_run,) = _step_records(on_cluster, "packages").values()
    assert {s["step"] for s in steps_run} == {"embedding", "umap", "clusters", "labels", "scope"}
    for step in steps_run:  # each step in a worker's pool process, never in ls-run's own
        assert step["status"] == "STEP_SUCCESS" and step["pid"] != run.pid, step
        assert step["pid"] in pools[step["node"]], (step, pools)
        assert step["node"] == ("heavy" if step["step"] in ON_HEAVY else "light"), step


def test_two_recipes_at_once_share_stages_and_the_pool_serializes_heavy_steps(
    on_cluster: LoopbackDagsterCluster, rows: pd.DataFrame, tmp_path: Path
) -> None:
    data = _data(on_cluster)
    steps.ingest(data, "pair", rows, IngestParams(text_column="text"))
    recipes = [_recipe(tmp_path, f"size{size}", min_cluster_size=size) for size in (8, 6)]
    runs = [_ls_run(on_cluster, "pair", "--recipe", str(recipe), cwd=tmp_path) for recipe in recipes]
    ids = [_finish(run) for run in runs]
    assert ids[0]["embedding"] == ids[1]["embedding"] == "embedding-001"
    assert ids[0]["umap"] == ids[1]["umap"] == "umap-001"
    assert sorted(i["scope"] for i in ids) == ["scopes-001", "scopes-002"]
    ds = data.dataset("pair")
    assert ds.ids("embedding") == ["embedding-001"] and ds.ids("umap") == ["umap-001"]
    records = list(_step_records(on_cluster, "pair").values())
    assert len(records) == 2
    spans = sorted((s["start"], s["end"]) for steps_run in records for s in steps_run if s["step"] in POOL_STEPS)
    assert len(spans) == 4
    # The runs overlapped, yet no two pool steps did: each waited for the ls_heavy slot.
    first, second = (min(s["start"] for s in r) for r in records), (max(s["end"] for s in r) for r in records)
    assert max(first) < min(second)
    assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False)), spans
