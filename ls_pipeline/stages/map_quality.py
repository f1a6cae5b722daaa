"""How well a map reads: whether a row's nearest points on the map share its cluster, and whether they are the rows
nearest to it in the embedding. Pure; the cluster stage records the first, bench/map_quality.py measures both.
"""

from __future__ import annotations

import numpy as np

NEAREST = 10  # the neighbours a reader sees around a point


def map_neighbours(xy: np.ndarray, k: int = NEAREST) -> np.ndarray:
    """Each row's k nearest other rows on the map (a row's exact duplicates, on its very point, come first)."""
    from sklearn.neighbors import NearestNeighbors  # here: sklearn's import slows every ls-* command's start

    k = min(k, len(xy) - 1)
    found = NearestNeighbors(n_neighbors=k + 1).fit(xy).kneighbors(xy, return_distance=False)
    return _without_self(found, k)


def coherence(xy: np.ndarray, cluster: np.ndarray, unclustered: np.ndarray | None = None, k: int = NEAREST) -> float:
    """The share of a row's k nearest map neighbours in its own cluster, over every row; a row in `unclustered`
    (a mask) counts as a miss for each of its neighbours, as the colour it shows names no topic."""
    if len(xy) < 2:
        return 1.0
    same = cluster[map_neighbours(xy, k)] == cluster[:, None]
    if unclustered is not None:
        same &= ~unclustered[:, None]
    return float(same.mean())


def neighbourhoods_kept(embedding_neighbours: np.ndarray, xy: np.ndarray, k: int = NEAREST) -> float:
    """The share of a row's k nearest rows in the embedding (`embedding_neighbours`, k per row, self excluded)
    that are among its k nearest on the map."""
    on_map = map_neighbours(xy, k)
    kept = [len(np.intersect1d(a, b, assume_unique=True)) for a, b in zip(embedding_neighbours, on_map, strict=True)]
    return float(np.mean(kept)) / on_map.shape[1]


def embedding_neighbours(vectors: np.ndarray, k: int = NEAREST) -> np.ndarray:
    """Each row's k nearest other rows by cosine similarity, exact (exact duplicates first)."""
    from ls_pipeline.stages.exact_knn import exact_knn

    indices, _ = exact_knn(vectors, k + 1, "cosine")
    return _without_self(indices, k)


def _without_self(found: np.ndarray, k: int) -> np.ndarray:
    """k columns per row without the row itself (which a tie may put anywhere in the first places, or drop)."""
    rows = np.arange(len(found))[:, None]
    others = found != rows
    order = np.argsort(~others, axis=1, kind="stable")  # the row's own column moves last
    return np.take_along_axis(found, order, axis=1)[:, :k]
