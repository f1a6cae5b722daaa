"""The pipeline on object storage: a real S3 server (moto, its own process, checked credentials) on 127.0.0.1.

A file goes to a scope on s3:// through the CLI and through Dagster (the inbox sensor too); a writer killed between
its uploads leaves nothing visible and a rerun completes; two runs at once compute each shared stage once and
publish distinct ids; nothing is ever written to a local folder named after the URL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from ls_pipeline import cli
from ls_pipeline.store import DataDir
from ls_pipeline.store.location import parse_root
from tests.conftest import TINY_RECIPE
from tests.helpers import run_cli, umap_layouts
from tests.s3_support import S3Server

ROWS = 60


@pytest.fixture(scope="module")
def packages_csv(tmp_path_factory: pytest.TempPathFactory, sample_frame: pd.DataFrame) -> Path:
    path = tmp_path_factory.mktemp("source") / "packages.csv"
    sample_frame.head(ROWS).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def small_recipe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("recipe") / "small.yaml"
    path.write_text(TINY_RECIPE)
    return path


def _artifact_keys(server: S3Server, bucket: str) -> list[str]:
    return [k.removeprefix("data/") for k in server.keys(bucket, "data/") if not k.startswith("data/_cache/")]


def test_ls_run_takes_a_file_to_a_scope_on_s3_through_dagster(
    s3_root: str,
    s3_env: S3Server,
    packages_csv: Path,
    small_recipe: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LATENT_SCOPE_DATA", s3_root)
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(cli.ls_run, [str(packages_csv), "--recipe", str(small_recipe)], capsys)
    assert code == 0, err
    ids = dict(line.split(": ", 1) for line in out.strip().splitlines())
    assert ids == {
        "embedding": "embedding-001",
        "umap": "umap-001",
        "cluster": "cluster-001",
        "labels": "cluster-001-labels-001",
        "scope": "scopes-001",
    }
    bucket = s3_root.removeprefix("s3://").split("/")[0]
    keys = _artifact_keys(s3_env, bucket)
    for name in (
        "packages/input.parquet",
        "packages/meta.json",
        "packages/embeddings/embedding-001.h5",
        "packages/embeddings/embedding-001.json",
        "packages/umaps/umap-001.parquet",
        "packages/clusters/cluster-001-labels-001.parquet",
        "packages/scopes/scopes-001.json",
        "packages/scopes/scopes-001.parquet",
    ):
        assert name in keys
    assert not [k for k in keys if k.endswith((".claim", ".lock", ".partial", ".tmp"))]  # no claims or leases left
    assert list(tmp_path.iterdir()) == []  # nothing local: no "s3:" folder, no Dagster home in the working folder
    ds = DataDir(parse_root(s3_root)).dataset("packages")
    scope = ds.sidecar("scope", "scopes-001")
    assert scope["embedding_id"] == "embedding-001" and scope["rows"] == ROWS
    # A rerun of the same recipe reuses every stage: nothing new is published.
    code, out2, err = run_cli(cli.ls_run, ["packages", "--recipe", str(small_recipe)], capsys)
    assert code == 0 and out2 == out
    assert _artifact_keys(s3_env, bucket) == keys


def test_the_inbox_sensor_reads_a_file_dropped_in_the_bucket(
    s3_root: str, s3_env: S3Server, sample_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from ls_pipeline.definitions import defs
    from ls_pipeline.defs.assets import ingest_run_config
    from ls_pipeline.defs.resources import DataDirResource
    from ls_pipeline.defs.sensors import inbox_sensor
    from ls_pipeline.store import datadir

    monkeypatch.setenv("LATENT_SCOPE_DATA", s3_root)
    data = DataDir(parse_root(s3_root))
    good, bad = data.inbox / "notes.csv", data.inbox / "broken.csv"
    good.write_bytes(sample_frame.head(20).to_csv(index=False).encode())
    bad.write_bytes(b"")
    # An object's modification time cannot be set back: let the sensor's clock run a minute ahead instead.
    monkeypatch.setattr(datadir, "time", type("Later", (), {"time": staticmethod(lambda: time.time() + 60)}))
    resources = {"data_dir": DataDirResource(path=s3_root)}
    with (
        dg.DagsterInstance.local_temp(str(tmp_path)) as instance,
        dg.build_sensor_context(instance=instance, resources=resources, definitions=defs) as context,
    ):
        result = inbox_sensor(context)
    [request] = result.run_requests
    assert request.partition_key == "notes"
    assert request.run_config == ingest_run_config(good)
    assert request.run_config["ops"]["ingest"]["config"]["path"] == f"{s3_root}/_inbox/notes.csv"
    assert not bad.exists() and (data.rejected / "broken.csv").is_file()
    assert "fix the file" in data.note_path("broken.csv").read_text()


KILL_AFTER_FIRST_UPLOAD = textwrap.dedent(
    """
    import os, signal, sys
    from ls_pipeline.store import artifacts
    publish = artifacts.publish_file
    def publish_then_die(staged, target):
        publish(staged, target)
        if str(target).endswith(os.environ["KILL_AFTER"]):
            os.kill(os.getpid(), signal.SIGKILL)
    artifacts.publish_file = publish_then_die
    from ls_pipeline import cli
    sys.exit(cli.ls_embed(sys.argv[1:]))
    """
)


def test_a_writer_killed_between_uploads_leaves_nothing_visible_and_a_rerun_completes(
    s3_root: str, s3_env: S3Server, sample_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from ls_pipeline import steps
    from ls_pipeline.stages.ingest import IngestParams

    monkeypatch.setenv("LATENT_SCOPE_DATA", s3_root)
    data = DataDir(parse_root(s3_root))
    steps.ingest(data, "killed", sample_frame.head(40), IngestParams(text_column="text"))
    env = {**os.environ, "KILL_AFTER": "embedding-001.h5", "LATENT_SCOPE_LEASE_SEC": "2"}
    args = ["killed", "text"]
    killed = subprocess.run([sys.executable, "-c", KILL_AFTER_FIRST_UPLOAD, *args], env=env, capture_output=True)
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    ds = data.dataset("killed")
    assert (ds.folder("embedding") / "embedding-001.h5").is_file()  # the upload that happened before the kill
    assert ds.ids("embedding") == []  # ... is invisible: no sidecar, so no artifact
    started = time.monotonic()
    done = subprocess.run(
        [str(Path(sys.executable).with_name("ls-embed")), *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "embedding-002"  # the orphan's id is never reused
    assert time.monotonic() - started >= 1  # it waited for the dead writer's lease to expire, then took it over
    assert ds.ids("embedding") == ["embedding-002"]
    sidecar = json.loads((ds.folder("embedding") / "embedding-002.json").read_text())
    assert sidecar["rows"] == 40


RUN = textwrap.dedent(
    """
    import sys
    from ls_pipeline import cli
    sys.exit(cli.ls_run(sys.argv[1:]))
    """
)


def test_two_runs_at_once_compute_each_shared_stage_once(
    s3_root: str,
    s3_env: S3Server,
    sample_frame: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ls_pipeline import steps
    from ls_pipeline.stages.ingest import IngestParams

    monkeypatch.setenv("LATENT_SCOPE_DATA", s3_root)
    data = DataDir(parse_root(s3_root))
    steps.ingest(data, "shared", sample_frame.head(80), IngestParams(text_column="text"))
    recipes = []
    for size in (5, 4):  # one embedding and one UMAP, two clusterings
        path = tmp_path / f"size{size}.yaml"
        path.write_text(TINY_RECIPE.replace("min_cluster_size: 5", f"min_cluster_size: {size}"))
        recipes.append(path)
    env = dict(os.environ)
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", RUN, "shared", "--recipe", str(recipe), "--no-dagster"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for recipe in recipes
    ]
    outputs = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err[-2000:] for _, err in outputs]
    ids = [dict(line.split(": ", 1) for line in out.strip().splitlines()) for out, _ in outputs]
    assert ids[0]["embedding"] == ids[1]["embedding"] == "embedding-001"
    assert ids[0]["umap"] == ids[1]["umap"] == "umap-001"
    assert sorted(i["cluster"] for i in ids) == ["cluster-001", "cluster-002"]
    assert sorted(i["scope"] for i in ids) == ["scopes-001", "scopes-002"]
    logs = "".join(err for _, err in outputs)
    for shared in ("embedding-001", "umap-001"):
        assert logs.count(f"wrote {shared}") == 1 and f"reused {shared}" in logs
    ds = data.dataset("shared")
    assert ds.ids("embedding") == ["embedding-001"] and umap_layouts(ds) == ["umap-001"]
    assert ds.ids("cluster") == ["cluster-001", "cluster-002"]
