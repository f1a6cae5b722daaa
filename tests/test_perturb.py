"""LS_PERTURB (the test suite's --perturb): seeded noise of the asked scale on vectors, another ONNX thread count."""

from __future__ import annotations

import numpy as np
import pytest

from ls_pipeline.errors import UserError
from ls_pipeline.models.embedding import DEFAULT_MODEL, SentenceTransformerEmbedder, load_embedder
from ls_pipeline.models.perturb import PERTURB_ENV, onnx_threads, perturb, perturb_scale

pytestmark = pytest.mark.numeric  # the perturbed run checks the perturbation itself


def unit_rows(rows: int, dims: int = 384) -> np.ndarray:
    vectors = np.random.default_rng(0).standard_normal((rows, dims)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def tokens(*rows: list[int]) -> dict[str, np.ndarray]:
    """A padded batch as a tokenizer gives it: ids and mask, padded with 0 to the longest row."""
    longest = max(len(r) for r in rows)
    ids = np.array([r + [0] * (longest - len(r)) for r in rows])
    return {"input_ids": ids, "attention_mask": (np.arange(longest) < np.array([[len(r)] for r in rows])).astype(int)}


def test_unset_leaves_vectors_and_threads_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PERTURB_ENV, raising=False)
    vectors = unit_rows(3)
    assert perturb(vectors, lambda: pytest.fail("no tokens needed")) is vectors
    assert (onnx_threads(1), onnx_threads(2), onnx_threads(16)) == (1, 2, 16)


def test_set_moves_each_vector_by_its_tokens_own_noise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PERTURB_ENV, "1e-5")
    v = unit_rows(2)
    moved = perturb(np.vstack([v[0], v[1], v[0]]), lambda: tokens([101, 7, 8, 102], [101, 9, 102], [101, 7, 8, 102]))
    change = moved - np.vstack([v[0], v[1], v[0]])
    assert 2e-6 < float(np.abs(change).mean()) < 5e-5  # ~0.8 x 1e-5 per component
    assert np.allclose(np.linalg.norm(moved, axis=1), 1, atol=1e-6)
    assert np.array_equal(moved[0], moved[2])  # the same tokens, the same vector ...
    assert np.array_equal(perturb(v[:1], lambda: tokens([101, 7, 8, 102])), moved[:1])  # ... in any batch, unpadded
    assert not np.array_equal(perturb(v[:1], lambda: tokens([101, 7, 9, 102])), moved[:1])
    assert (onnx_threads(1), onnx_threads(2), onnx_threads(16)) == (2, 1, 1)


def test_both_local_runtimes_move_a_text_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    """ONNX Runtime and sentence-transformers tokenize alike, so a text's noise is one: vectors stay comparable."""
    monkeypatch.setenv(PERTURB_ENV, "1e-5")
    texts = ["a text editor for programmers", "A TEXT EDITOR FOR PROGRAMMERS", "a game for children"]
    onnx, torch = load_embedder(DEFAULT_MODEL).embed(texts), SentenceTransformerEmbedder(DEFAULT_MODEL).embed(texts)
    assert float((onnx * torch).sum(axis=1).min()) >= 0.99999
    assert float(onnx[0] @ onnx[1]) >= 0.99999  # an uncased model reads both alike: one noise, as on one CPU
    monkeypatch.delenv(PERTURB_ENV)
    plain = load_embedder(DEFAULT_MODEL).embed(texts)
    assert 1e-6 < float(np.abs(plain - onnx).max()) < 1e-3  # moved, and only a little


@pytest.mark.parametrize("raw", ["-1e-5", "0.5", "noise", "nan"])
def test_a_bad_scale_is_one_line_naming_the_range(raw: str) -> None:
    with pytest.raises(UserError, match=rf"^LS_PERTURB='{raw}' is not a number from 0 to 0.01"):
        perturb_scale({PERTURB_ENV: raw})
