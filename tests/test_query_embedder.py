"""Search queries embed on ONNX Runtime (fused fp32), with the vectors sentence-transformers gives."""

from __future__ import annotations

import numpy as np
import pytest

from ls_pipeline.models.embedding import DEFAULT_MODEL, SentenceTransformerEmbedder, load_query_embedder
from ls_pipeline.models.onnx_fp32 import OnnxFp32Embedder

TEXTS = ["a game to play with friends", "font for terminals", "x", "python library for parsing json " * 60]


@pytest.fixture(scope="module")
def query_embedder() -> OnnxFp32Embedder:
    embedder = load_query_embedder(DEFAULT_MODEL)
    assert isinstance(embedder, OnnxFp32Embedder), "the default model's queries should embed on ONNX Runtime"
    return embedder


def test_query_vectors_match_sentence_transformers(query_embedder: OnnxFp32Embedder) -> None:
    reference = SentenceTransformerEmbedder(DEFAULT_MODEL).embed(TEXTS)
    ours = np.vstack([query_embedder.embed([text]) for text in TEXTS])  # one at a time, as queries come
    assert ours.shape == reference.shape == (len(TEXTS), 384)
    assert float((ours * reference).sum(axis=1).min()) >= 0.99999
    batch = query_embedder.embed(TEXTS)  # padded together: the same vectors
    assert float((batch * reference).sum(axis=1).min()) >= 0.99999


def test_query_embedder_keeps_revision() -> None:
    embedder = load_query_embedder(DEFAULT_MODEL)
    assert embedder.revision == SentenceTransformerEmbedder(DEFAULT_MODEL).revision
    assert embedder.embed([]).shape == (0, 384)
