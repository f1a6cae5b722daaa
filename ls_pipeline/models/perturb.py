"""LS_PERTURB, a test aid: this CPU made to stand in for another one.

Another CPU runs other kernels (ONNX Runtime, BLAS and numba pick them by the CPU's features and the thread count),
so its vectors differ from ours in the last bits, and a result near a threshold (a 120-row clustering's noise share,
the order of two near-equal search hits) may differ there. With LS_PERTURB set, every vector a local model makes
here (ONNX Runtime or torch: documents and queries) moves by seeded noise of that scale, and ONNX Runtime runs on
another thread count; a test that still passes holds with a margin. An API's vectors are left alone: no kernel of
this CPU made them. The noise is a function of the model's input tokens alone, so the same tokens get the same
vector in every process and batch (resumed runs, Dask workers, a search for a document's own text, an upper-cased
text an uncased model reads alike), as on one real machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ls_pipeline import settings

PERTURB_ENV = "LS_PERTURB"


def perturb_scale(env: Mapping[str, str] | None = None) -> float:
    """LS_PERTURB: the standard deviation of the seeded noise added to each component of every embedding vector we
    make; unset or blank: 0 (none)."""
    return settings.get(PERTURB_ENV, env)


def perturb(vectors: np.ndarray, tokens: Callable[[], Mapping[str, Any]]) -> np.ndarray:
    """`vectors` as they are, or under LS_PERTURB moved by the noise of each row's input tokens and renormalised.
    `tokens()` gives the batch's `input_ids` and `attention_mask` (called only when perturbing)."""
    scale = perturb_scale()
    if not scale or not len(vectors):
        return vectors
    encoded = tokens()
    ids, mask = np.asarray(encoded["input_ids"], np.int64), np.asarray(encoded["attention_mask"]).astype(bool)
    noise = np.stack([_noise(row[kept].tobytes(), vectors.shape[1]) for row, kept in zip(ids, mask, strict=True)])
    moved = np.asarray(vectors, dtype=np.float64) + scale * noise
    return (moved / np.maximum(np.linalg.norm(moved, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def onnx_threads(threads: int) -> int:
    """ONNX Runtime's intra-op thread count: `threads`, or under LS_PERTURB another count (one becomes two, more
    become one), which changes how its kernels split their work."""
    if not perturb_scale():
        return threads
    return 2 if threads == 1 else 1


def _noise(key: bytes, dimensions: int) -> np.ndarray:
    seed = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")
    return np.random.default_rng(seed).standard_normal(dimensions)
