"""LS_PERTURB (the test suite's --perturb): seeded noise of the asked scale on vectors, another ONNX thread count."""

from __future__ import annotations

import numpy as np
import pytest

from ls_pipeline.env_settings import PERTURB_ENV, perturb_scale
from ls_pipeline.errors import UserError
from ls_pipeline.models.perturb import onnx_threads, perturb


def unit_rows(rows: int, dims: int = 384) -> np.ndarray:
    vectors = np.random.default_rng(0).standard_normal((rows, dims)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_unset_leaves_vectors_and_threads_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PERTURB_ENV, raising=False)
    vectors = unit_rows(3)
    assert perturb(["a", "b", "c"], vectors) is vectors
    assert (onnx_threads(1), onnx_threads(2), onnx_threads(16)) == (1, 2, 16)


def test_set_moves_each_vector_by_its_texts_own_noise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PERTURB_ENV, "1e-5")
    vectors = unit_rows(3)
    moved = perturb(["a text", "another", "a text"], np.vstack([vectors[0], vectors[1], vectors[0]]))
    change = moved - np.vstack([vectors[0], vectors[1], vectors[0]])
    assert 2e-6 < float(np.abs(change).mean()) < 5e-5  # ~0.8 x 1e-5 per component
    assert np.allclose(np.linalg.norm(moved, axis=1), 1, atol=1e-6)
    assert np.array_equal(moved[0], moved[2])  # one text, one vector: in any process, any batch
    assert np.array_equal(perturb(["a text"], vectors[:1]), moved[:1])
    assert not np.array_equal(perturb(["other text"], vectors[:1]), moved[:1])
    assert (onnx_threads(1), onnx_threads(2), onnx_threads(16)) == (2, 1, 1)


@pytest.mark.parametrize("raw", ["-1e-5", "0.5", "noise", "nan"])
def test_a_bad_scale_is_one_line_naming_the_range(raw: str) -> None:
    with pytest.raises(UserError, match=rf"^LS_PERTURB='{raw}' is not a noise scale from 0 to 0.01"):
        perturb_scale({PERTURB_ENV: raw})
