"""Embedding speed features that must not change results: the fp32 path, the vector cache, resume, int8."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import onnx
import pandas as pd
import pytest

from ls_pipeline import steps
from ls_pipeline.errors import UserError
from ls_pipeline.models.embedding import DEFAULT_MODEL, load_embedder
from ls_pipeline.stages.embed import EmbedParams
from ls_pipeline.stages.ingest import IngestParams
from ls_pipeline.steps.embed import Loader
from ls_pipeline.store import DataDir


class CountingEmbedder:
    """The real model, counting the texts it is asked to embed (and optionally failing after some batches)."""

    def __init__(self, fail_after_batches: int | None = None) -> None:
        self.inner = load_embedder(DEFAULT_MODEL)
        self.model_id, self.revision, self.dimensions = self.inner.model_id, self.inner.revision, self.inner.dimensions
        self.texts: list[str] = []
        self.batches = 0
        self.fail_after_batches = fail_after_batches

    def embed(self, texts: list[str]) -> np.ndarray:
        if self.fail_after_batches is not None and self.batches >= self.fail_after_batches:
            raise RuntimeError("simulated crash")
        self.batches += 1
        self.texts.extend(texts)
        return self.inner.embed(texts)


def _use(monkeypatch: pytest.MonkeyPatch, embedder: CountingEmbedder) -> CountingEmbedder:
    return embedder  # the embed step takes its model loader as an argument: nothing to patch


def _loads(embedder: CountingEmbedder) -> Loader:
    return lambda model_id, *args: embedder  # type: ignore[return-value]


def _vectors(data: DataDir, name: str, embedding_id: str) -> np.ndarray:
    return steps.read_embeddings(data.dataset(name), embedding_id)


def test_fp32_vectors_match_plain_sentence_transformers(data_dir: Path, sample_frame: pd.DataFrame) -> None:
    from sentence_transformers import SentenceTransformer

    from ls_pipeline.models.embedding import resolve_location

    data = DataDir(data_dir)
    frame = sample_frame.head(120)
    steps.ingest(data, "d", frame, IngestParams(text_column="text"))
    artifact = steps.embed(data.dataset("d"), EmbedParams(batch_size=16))
    # the default model runs on ONNX Runtime's fused graph, and its provenance says so
    assert artifact.sidecar["runtime"] == "onnxruntime-fp32-fused"
    assert artifact.sidecar["revision"].endswith("+onnx-fp32-fused")
    ours = _vectors(data, "d", artifact.id)
    plain = SentenceTransformer(resolve_location(DEFAULT_MODEL)[0], device="cpu").encode(
        frame["text"].astype(str).tolist(), normalize_embeddings=True
    )
    assert ours.shape == plain.shape
    assert float((ours * plain).sum(axis=1).min()) >= 0.999


def test_reingest_embeds_only_new_and_changed_rows(
    data_dir: Path, sample_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = DataDir(data_dir)
    frame = sample_frame.head(200).reset_index(drop=True)
    steps.ingest(data, "d", frame, IngestParams(text_column="text"))
    first = _use(monkeypatch, CountingEmbedder())
    old = steps.embed(data.dataset("d"), EmbedParams(batch_size=32), load=_loads(first))
    assert len(first.texts) == frame["text"].nunique()  # duplicates inside one dataset are embedded once too

    changed = frame.copy()
    changed.loc[[3, 50], "text"] = ["a brand new description of a text editor", "a changed description of a game"]
    extra = pd.DataFrame({**{c: [changed[c].iloc[0]] for c in changed.columns}, "text": ["one more new package"]})
    changed = pd.concat([changed, extra], ignore_index=True)
    steps.ingest(data, "d", changed, IngestParams(text_column="text"))
    second = _use(monkeypatch, CountingEmbedder())
    new = steps.embed(data.dataset("d"), EmbedParams(batch_size=32), load=_loads(second))

    assert new.id != old.id and not new.reused
    assert sorted(second.texts) == sorted(["a brand new description of a text editor",
                                           "a changed description of a game", "one more new package"])  # fmt: skip
    assert new.sidecar["rows_embedded"] == 3 and new.sidecar["rows_from_cache"] == len(changed) - 3
    before, after = _vectors(data, "d", old.id), _vectors(data, "d", new.id)
    kept = [i for i in range(len(frame)) if i not in (3, 50)]
    np.testing.assert_array_equal(after[kept], before[kept])
    fresh = first.inner.embed(changed["text"].iloc[[3, 50, 200]].tolist())
    assert float((after[[3, 50, 200]] * fresh).sum(axis=1).min()) > 0.9999


def test_prefix_is_part_of_the_cache_key(data_dir: Path, sample_frame: pd.DataFrame, monkeypatch) -> None:
    data = DataDir(data_dir)
    steps.ingest(data, "d", sample_frame.head(40), IngestParams(text_column="text"))
    steps.embed(data.dataset("d"), EmbedParams(batch_size=16))
    counter = _use(monkeypatch, CountingEmbedder())
    steps.embed(data.dataset("d"), EmbedParams(batch_size=16, prefix="query: "), load=_loads(counter))
    assert len(counter.texts) == sample_frame.head(40)["text"].nunique()
    assert all(t.startswith("query: ") for t in counter.texts)


def test_crash_resumes_and_keeps_what_was_embedded(
    data_dir: Path, sample_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = DataDir(data_dir)
    frame = sample_frame.head(100)
    steps.ingest(data, "d", frame, IngestParams(text_column="text"))
    crashing = _use(monkeypatch, CountingEmbedder(fail_after_batches=2))
    with pytest.raises(RuntimeError, match="simulated crash"):
        steps.embed(data.dataset("d"), EmbedParams(batch_size=20), load=_loads(crashing))
    assert not list((data_dir / "d" / "embeddings").glob("*.h5"))  # nothing visible after the crash
    partial = list((data_dir / "d" / "embeddings").glob(".*.partial"))
    assert len(partial) == 1
    with h5py.File(partial[0], "r") as handle:
        assert int(handle["done"][:].sum()) >= 40

    resumed = _use(monkeypatch, CountingEmbedder())
    artifact = steps.embed(data.dataset("d"), EmbedParams(batch_size=20), load=_loads(resumed))
    assert set(resumed.texts).isdisjoint(crashing.texts)
    assert len(resumed.texts) + len(crashing.texts) == frame["text"].nunique()
    assert artifact.sidecar["rows_resumed"] >= 40
    fresh = crashing.inner.embed(frame["text"].astype(str).tolist())
    assert float((_vectors(data, "d", artifact.id) * fresh).sum(axis=1).min()) > 0.9999


def test_unknown_quantize_is_a_user_error() -> None:
    with pytest.raises(UserError, match="quantize must be none or int8"):
        EmbedParams(quantize="int4")  # type: ignore[arg-type]


def test_int8_path_agrees_with_fp32_and_is_a_separate_artifact(
    data_dir: Path, sample_frame: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = DataDir(data_dir)
    frame = sample_frame.head(150)
    steps.ingest(data, "d", frame, IngestParams(text_column="text"))
    fp32 = steps.embed(data.dataset("d"), EmbedParams())  # the machine's model cache: its fused file is made
    monkeypatch.setenv("LS_CACHE", str(tmp_path))  # the int8 file is made in its models/, in this test
    int8 = steps.embed(data.dataset("d"), EmbedParams(quantize="int8"))
    assert int8.id != fp32.id and int8.sidecar["revision"].endswith("+onnx-int8-mixed")
    assert int8.sidecar["rows_embedded"] == frame["text"].nunique()  # the fp32 cache is not used for int8
    a, b = _vectors(data, "d", fp32.id), _vectors(data, "d", int8.id)
    cosine = (a * b).sum(axis=1)
    assert float(cosine.min()) > 0.97 and float(cosine.mean()) > 0.99
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    (model,) = (tmp_path / "models").rglob("model-int8-mixed.onnx")
    ops = {node.name: node.op_type for node in onnx.load(str(model), load_external_data=False).graph.node}
    assert "MatMulInteger" in ops.values()  # int8 where it is safe ...
    assert ops["/model/encoder/layer.0/intermediate/dense/MatMul"] == "MatMul"  # ... fp32 where it is not
