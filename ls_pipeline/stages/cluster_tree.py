"""Cluster tree: topics above the clusters, from the density hierarchy HDBSCAN itself built. Pure.

HDBSCAN's single-linkage tree holds every grain at once; its clusters are the leaves of that tree condensed with
min_cluster_size. Condensed again with a larger minimum size, the same tree gives fewer, larger leaves: coarser
topics. Both are nodes of one tree, so each cluster lies inside one coarse topic (its rows' majority settles the
few rows the coarser cut leaves out). A cut of the tree's top would not do: HDBSCAN's tree peels small groups off
one trunk, so its top nodes are one giant and a few crumbs (bench/cluster_quality.py measured 87% in one topic).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Assign = Callable[[np.ndarray], np.ndarray]  # labels with -1 -> labels with every row in a group


def leaf_labels(condensed: np.ndarray, n_points: int) -> np.ndarray:
    """A label per point from a condensed tree's leaves (numbered by node id); -1 for points outside every leaf."""
    parents, children = condensed["parent"], condensed["child"]
    inner = set(parents[children >= n_points].tolist())
    leaves = sorted(set(parents.tolist()) - inner)
    number = {node: i for i, node in enumerate(leaves)}
    out = np.full(n_points, -1, dtype=np.int32)
    points = children < n_points
    for point, parent in zip(children[points], parents[points], strict=True):
        out[point] = number.get(int(parent), -1)
    return out


def coarser_levels(
    single_linkage: np.ndarray, fine: np.ndarray, sizes: Sequence[int], min_size: int, assign: Assign
) -> list[dict[int, int]]:
    """Parents per level, finest first (as levels.hierarchy gives them): level 1 maps each cluster id of `fine`
    (a group id per row, -1 for none) to a topic, level 2 each level-1 topic to one above it. Each entry of
    `sizes` is the number of topics wanted at that level; topics are numbered by rows, largest first."""
    from hdbscan._hdbscan_tree import condense_tree  # hdbscan's own condensing, as HDBSCAN.fit runs it

    n = len(fine)
    maps: list[dict[int, int]] = []
    below = fine
    for size in sizes:

        def leaves(min_cluster_size: int) -> np.ndarray:
            return leaf_labels(condense_tree(single_linkage, min_cluster_size), n)

        coarse = assign(leaves(_min_size_for(leaves, size, min_size, n)))
        mapping = _majority(below, coarse)
        maps.append(mapping)
        below = np.where(below >= 0, _lookup(mapping, below), -1)
    return maps


def _min_size_for(leaves: Callable[[int], np.ndarray], wanted: int, low: int, n: int) -> int:
    """The minimum cluster size whose leaves number closest to `wanted` (a bisection: fewer leaves as it grows)."""
    best, best_gap = low, None
    lo, hi = low, max(low, n // 2)
    while lo <= hi:
        mid = (lo + hi) // 2
        count = int(leaves(mid).max(initial=-1)) + 1
        gap = abs(count - wanted)
        if best_gap is None or gap < best_gap or (gap == best_gap and mid < best):
            best, best_gap = mid, gap
        if count > wanted:
            lo = mid + 1
        elif count < wanted:
            hi = mid - 1
        else:
            break
    return best


def _majority(below: np.ndarray, coarse: np.ndarray) -> dict[int, int]:
    """Each group's topic: the coarse group most of its rows are in; topics renumbered by rows, largest first."""
    groups = sorted(int(g) for g in np.unique(below[below >= 0]))
    raw = {g: int(np.bincount(coarse[(below == g) & (coarse >= 0)], minlength=1).argmax()) for g in groups}
    rows = {t: int(sum((below == g).sum() for g, p in raw.items() if p == t)) for t in set(raw.values())}
    order = sorted(rows, key=lambda t: (-rows[t], t))
    number = {t: i for i, t in enumerate(order)}
    return {g: number[p] for g, p in raw.items()}


def _lookup(mapping: dict[int, int], groups: np.ndarray) -> np.ndarray:
    table = np.full(max(max(mapping, default=0), int(groups.max(initial=0))) + 1, -1, dtype=np.int64)
    table[list(mapping)] = list(mapping.values())
    return table[np.clip(groups, 0, None)]
