"""Which clusters of one scope became which clusters of another (of the same dataset): a pure computation over
the two cluster columns, row by row (same ls_index)."""

from __future__ import annotations

from typing import Any

import numpy as np


def cluster_overlap(a: np.ndarray, b: np.ndarray, keep: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Every pair (cluster of a, cluster of b) sharing rows: the shared count and its Jaccard index
    |A & B| / |A | B|, largest overlaps first. `keep` (a boolean mask) leaves rows out of both (removed rows)."""
    if a.shape != b.shape:
        raise ValueError(f"the scopes have {len(a)} and {len(b)} rows; compare scopes of one dataset")
    if keep is not None:
        a, b = a[keep], b[keep]
    a, b = a.astype(np.int64), b.astype(np.int64)
    size_a = dict(zip(*np.unique(a, return_counts=True), strict=True))
    size_b = dict(zip(*np.unique(b, return_counts=True), strict=True))
    pairs, shared = np.unique(np.stack([a, b]), axis=1, return_counts=True) if len(a) else (np.zeros((2, 0)), [])
    out = []
    for (ca, cb), n in zip(pairs.T.tolist(), np.asarray(shared).tolist(), strict=True):
        union = size_a[ca] + size_b[cb] - n
        out.append(
            {
                "a": ca,
                "b": cb,
                "overlap": n,
                "a_count": int(size_a[ca]),
                "b_count": int(size_b[cb]),
                "jaccard": round(n / union, 4),
            }
        )
    return sorted(out, key=lambda r: (-r["overlap"], r["a"], r["b"]))


def best_match(overlaps: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """For each cluster of a, the cluster of b it shares most rows with (ties: the higher Jaccard)."""
    best: dict[int, dict[str, Any]] = {}
    for row in overlaps:
        held = best.get(row["a"])
        if held is None or (row["overlap"], row["jaccard"]) > (held["overlap"], held["jaccard"]):
            best[row["a"]] = row
    return best
