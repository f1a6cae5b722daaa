"""Vectors computed elsewhere: imported from .npy, HDF5, Parquet or a column of the dataset, normalised, recorded,
and then an embedding like any other (UMAP, clusters, labels, a scope, a row's neighbours in the viewer)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import h5py
import httpx
import numpy as np
import pandas as pd
import pytest

import ls_pipeline as ls
from ls_pipeline.models.embedding import DEFAULT_MODEL, load_embedder

ROWS = 150


@pytest.fixture
def data(data_dir: Path, sample_frame: pd.DataFrame) -> Path:
    ls.ingest("posts", sample_frame.head(ROWS), text_column="text")
    return data_dir


@pytest.fixture(scope="module")
def vectors(sample_frame: pd.DataFrame) -> np.ndarray:
    """The real model's vectors, scaled per row (an import must normalise them)."""
    real = load_embedder(DEFAULT_MODEL).embed(sample_frame["text"].head(ROWS).tolist())
    return real * np.linspace(0.5, 4.0, ROWS, dtype=np.float32)[:, None]


def stored(root: Path, embedding_id: str) -> tuple[np.ndarray, dict[str, Any]]:
    folder = root / "posts" / "embeddings"
    with h5py.File(folder / f"{embedding_id}.h5", "r") as handle:
        return handle["embeddings"][:], json.loads((folder / f"{embedding_id}.json").read_text())


def unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def test_every_source_gives_the_same_normalised_vectors_once(data: Path, vectors: np.ndarray, tmp_path: Path) -> None:
    np.save(tmp_path / "v.npy", vectors)
    with h5py.File(tmp_path / "v.h5", "w") as handle:
        handle["embeddings"] = vectors
    pd.DataFrame({"id": range(ROWS), "vec": list(vectors.astype(np.float64))}).to_parquet(tmp_path / "v.parquet")
    first = ls.import_embeddings("posts", tmp_path / "v.npy", model_id="elsewhere-model")
    matrix, sidecar = stored(data, first)
    np.testing.assert_allclose(matrix, unit(vectors), atol=1e-6)
    assert sidecar["imported_from"] == "v.npy" and sidecar["model_id"] == "elsewhere-model"
    assert sidecar["revision"] == "imported" and sidecar["dimensions"] == 384 and sidecar["rows"] == ROWS
    # The same vectors from any other source, or as an array, are the same artifact: reused, not written again.
    for source in (tmp_path / "v.h5", tmp_path / "v.parquet", vectors):
        assert ls.import_embeddings("posts", source, model_id="elsewhere-model") == first
    assert ls.import_embeddings("posts", vectors, model_id="another-model") != first


def test_a_list_column_of_the_dataset_itself(data_dir: Path, sample_frame: pd.DataFrame, vectors: np.ndarray) -> None:
    frame = sample_frame.head(ROWS).assign(vec=list(vectors.astype(np.float64)))
    ls.ingest("posts", frame, text_column="text")
    matrix, sidecar = stored(data_dir, ls.import_embeddings("posts", column="vec"))
    np.testing.assert_allclose(matrix, unit(vectors), atol=1e-6)
    assert sidecar["imported_from"] == "column vec" and sidecar["model_id"] == "imported"


def get(app: Any, url: str, **params: Any) -> httpx.Response:
    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://viewer") as client:
            return await client.get(url, params=params)

    return asyncio.run(call())


@pytest.mark.parametrize("model_id", ["vectors-from-our-warehouse", DEFAULT_MODEL])
def test_an_imported_embedding_goes_to_a_scope_and_its_neighbours(
    data: Path, vectors: np.ndarray, model_id: str
) -> None:
    from viewer.app import create_app

    embedding = ls.import_embeddings("posts", vectors, model_id=model_id)
    umap = ls.umap("posts", embedding, neighbors=10, min_dist=0.1)
    labels = ls.label("posts", "text", ls.cluster("posts", umap, samples=8, min_samples=3))
    scope = ls.scope("posts", labels, "imported", "vectors made elsewhere")
    app, base = create_app(data), f"/api/datasets/posts/scopes/{scope}"

    near = get(app, base + "/neighbors", ls_index=12, k=5)
    assert near.status_code == 200, near.text
    results = near.json()["results"]
    assert results[0]["ls_index"] == 12 and results[0]["score"] == pytest.approx(1.0, abs=1e-5)
    expected = np.argsort(-(unit(vectors) @ unit(vectors)[12]), kind="stable")[:5]
    assert [r["ls_index"] for r in results] == expected.tolist()
    assert get(app, base + "/neighbors", ls_index=ROWS, k=5).status_code == 404

    searched = get(app, base + "/search", q="a python web framework", k=5)
    if model_id == DEFAULT_MODEL:  # a model that loads here embeds the query: search works as for any scope
        assert searched.status_code == 200 and len(searched.json()["results"]) == 5
    else:
        assert searched.status_code == 400
        assert (
            "(imported as 'vectors-from-our-warehouse'), a model that cannot embed queries here"
            in searched.json()["error"]
        )
