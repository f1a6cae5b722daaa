"""Levels: clusters merged into a few parent topics, and those into fewer still. Pure.

Each cluster is represented by its centroid in embedding space (the mean of its members' unit vectors, made
unit length again); Ward agglomerative clustering of those centroids groups clusters that talk about the same
things even when UMAP put them apart. Each level has about sqrt(n) topics of the n below it, at least 2.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ls_pipeline.stages.groups import Members

MIN_TO_MERGE = 4  # fewer groups than this are already a short list: no level above them


def level_sizes(n_clusters: int, levels: int) -> list[int]:
    """How many topics each level above the clusters has: e.g. 40 clusters, 2 levels -> [6, 2]."""
    sizes: list[int] = []
    below = n_clusters
    for _ in range(levels):
        if below < MIN_TO_MERGE:
            break
        size = max(2, round(below**0.5))
        sizes.append(size)
        below = size
    return sizes


def centroids(vectors: np.ndarray, groups: np.ndarray, ids: Sequence[int]) -> np.ndarray:
    """Unit-length mean vector of the rows in each group id, in the order of `ids`."""
    out = np.zeros((len(ids), vectors.shape[1]), dtype=np.float32)
    rows_of = Members(groups)
    for i, gid in enumerate(ids):
        members = vectors[rows_of(gid)]
        if len(members):
            mean = members.mean(axis=0)
            out[i] = mean / max(float(np.linalg.norm(mean)), 1e-12)
    return out


def merge(points: np.ndarray, weights: np.ndarray, n_topics: int) -> np.ndarray:
    """A topic id per point (row), topics numbered by total weight, largest first (like clusters)."""
    if n_topics >= len(points):
        raw = np.arange(len(points))
    else:
        from sklearn.cluster import AgglomerativeClustering  # here: sklearn's import slows every ls-* command's start

        raw = AgglomerativeClustering(n_clusters=n_topics, linkage="ward").fit_predict(points)
    totals = np.bincount(raw, weights=weights, minlength=raw.max() + 1)
    order = np.lexsort((np.arange(len(totals)), -totals))
    renumber = np.empty_like(order)
    renumber[order] = np.arange(len(order))
    return renumber[raw].astype(np.int32)


def hierarchy(vectors: np.ndarray, cluster: np.ndarray, labeled: Sequence[int], levels: int) -> list[dict[int, int]]:
    """For each level above the clusters, the parent topic of every group one level below (cluster ids at
    level 1, level-1 topic ids at level 2, ...). Noise clusters are left out of `labeled` and get no parent."""
    maps: list[dict[int, int]] = []
    ids = list(labeled)
    groups = np.where(np.isin(cluster, ids), cluster, -1)
    for size in level_sizes(len(ids), levels):
        weights = np.bincount(groups[groups >= 0], minlength=max(ids) + 1)[ids].astype(np.float64)
        parents = merge(centroids(vectors, groups, ids), weights, size)
        mapping = {int(gid): int(p) for gid, p in zip(ids, parents, strict=True)}
        maps.append(mapping)
        lookup = np.full(max(ids) + 2, -1, dtype=np.int32)
        lookup[list(mapping)] = list(mapping.values())
        groups = np.where(groups >= 0, lookup[groups], -1)
        ids = sorted(set(mapping.values()))
    return maps


def rows_at_level(cluster: np.ndarray, maps: Sequence[dict[int, int]], level: int) -> np.ndarray:
    """Each row's topic id at `level` (0 = the cluster itself); -1 for rows without one (noise)."""
    groups = cluster.astype(np.int64)
    for mapping in maps[:level]:
        lookup = np.full(int(max(groups.max(initial=0), max(mapping, default=0))) + 2, -1, dtype=np.int64)
        lookup[list(mapping)] = list(mapping.values())
        groups = np.where(groups >= 0, lookup[np.clip(groups, 0, None)], -1)
    return groups
