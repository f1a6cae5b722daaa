"""Exact k nearest neighbours of every row among all rows, in the form UMAP takes as its precomputed graph.

Blocked inner products (faiss' flat index: BLAS blocks with a heap per query) instead of NNDescent, up to the row
count where the quadratic work still beats NNDescent plus its numba compile, which no cache keeps
(bench/knn_exact.py). Exact neighbours are what NNDescent approximates, so the graph is at least as good.
"""

from __future__ import annotations

import numpy as np

# The metrics computed here; any other goes to NNDescent.
METRICS = ("cosine", "euclidean")


def supports(metric: str) -> bool:
    return metric in METRICS


def exact_knn(vectors: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """(indices int32, distances float32), k per row, nearest first, each row its own first neighbour at distance 0
    (as NNDescent returns them). Distances are UMAP's: 1 - cosine similarity, or the Euclidean distance."""
    import faiss  # slow to import: only here, not on the stages' import path

    if not supports(metric):
        raise ValueError(f"exact neighbours support {METRICS}, not {metric!r}")
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    if metric == "cosine":
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        x = x / np.where(norms > 0, norms, 1)
        similarity, indices = faiss.knn(x, x, k, metric=faiss.METRIC_INNER_PRODUCT)
        distances = np.clip(1 - similarity, 0, 2)
    else:
        squared, indices = faiss.knn(x, x, k, metric=faiss.METRIC_L2)
        distances = np.sqrt(np.maximum(squared, 0))
    return _self_first(indices.astype(np.int32), distances.astype(np.float32))


def _self_first(indices: np.ndarray, distances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's own index first at distance 0. Rounding in the blocked products can rank a near-identical row
    above the row itself; that row then moves one place down (the row itself, if it fell out, displaces the last)."""
    rows = np.arange(len(indices), dtype=indices.dtype)
    misplaced = np.flatnonzero(indices[:, 0] != rows)
    for i in misplaced:
        others = indices[i] != i
        kept_idx, kept_dist = indices[i][others], distances[i][others]
        indices[i, 1:] = kept_idx[: indices.shape[1] - 1]
        distances[i, 1:] = kept_dist[: indices.shape[1] - 1]
    indices[:, 0] = rows
    distances[:, 0] = 0.0
    return indices, distances
