"""LS_PERTURB, a test aid: this CPU made to stand in for another one.

Another CPU runs other kernels (ONNX Runtime, BLAS and numba pick them by the CPU's features and the thread count),
so its vectors differ from ours in the last bits, and a result near a threshold (a 120-row clustering's noise share,
the order of two near-equal search hits) may differ there. With LS_PERTURB set, every vector a local model makes
here (ONNX Runtime or torch: documents and queries) moves by seeded noise of that scale, and ONNX Runtime runs on
another thread count; a test that still passes holds with a margin. An API's vectors are left alone: no kernel of
this CPU made them. The noise is a function of the text alone, so the same text gets the same vector in every process
(resumed runs, Dask workers, a search for a document's own text), as on one real machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from ls_pipeline.env_settings import perturb_scale


def perturb(texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
    """`vectors` (one per text, unit length) as they are, or under LS_PERTURB moved by the texts' own noise and
    renormalised."""
    scale = perturb_scale()
    if not scale or not len(texts):
        return vectors
    noise = np.stack([_noise(text, vectors.shape[1]) for text in texts])
    moved = np.asarray(vectors, dtype=np.float64) + scale * noise
    return (moved / np.maximum(np.linalg.norm(moved, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def onnx_threads(threads: int) -> int:
    """ONNX Runtime's intra-op thread count: `threads`, or under LS_PERTURB another count (one becomes two, more
    become one), which changes how its kernels split their work."""
    if not perturb_scale():
        return threads
    return 2 if threads == 1 else 1


def _noise(text: str, dimensions: int) -> np.ndarray:
    seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
    return np.random.default_rng(seed).standard_normal(dimensions)
