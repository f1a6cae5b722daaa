"""Near-duplicate rows: the connected components of the pairs whose cosine similarity is at or above a threshold.

The pairs come from each row's exact nearest neighbours (the same exact search the viewer's neighbours use), not
from all pairs: a row with more near-twins than `neighbors` still joins their group through the ones it does see,
since a group is connected through any chain of such pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ls_pipeline.params import integer, number, param, validate
from ls_pipeline.stages.exact_knn import exact_knn

CODE_VERSION = "1"
ALONE = -1  # the group of a row with no near-duplicate


@dataclass(frozen=True)
class DuplicatesParams:
    threshold: float = param(0.95, "cosine similarity at or above which two rows are near-duplicates", number(0.5, 1.0))
    neighbors: int = param(10, "nearest neighbours of each row that are checked against the threshold", integer(1, 200))

    def __post_init__(self) -> None:
        validate(self)


def near_duplicate_groups(vectors: np.ndarray, params: DuplicatesParams) -> np.ndarray:
    """Per row, its group (0 the largest, then by size, ties by first row) or ALONE."""
    import scipy.sparse
    from scipy.sparse.csgraph import connected_components

    n = len(vectors)
    if n < 2:
        return np.full(n, ALONE, dtype=np.int32)
    indices, distances = exact_knn(vectors, min(params.neighbors + 1, n), "cosine")
    # distance is 1 - cosine; the float32 products may put an exact twin a hair above 0
    close = (distances <= 1 - params.threshold + 1e-6) & (indices != np.arange(n)[:, None])
    rows, cols = np.nonzero(close)
    graph = scipy.sparse.coo_matrix((np.ones(len(rows)), (rows, indices[rows, cols])), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    return renumber_groups(component)


def renumber_groups(component: np.ndarray) -> np.ndarray:
    """Components of two or more rows numbered by size (largest first, ties by their first row); others ALONE."""
    ids, first, sizes = np.unique(component, return_index=True, return_counts=True)
    order = sorted((-int(s), int(f), int(c)) for c, f, s in zip(ids, first, sizes, strict=True) if s > 1)
    number = {c: g for g, (_, _, c) in enumerate(order)}
    return np.array([number.get(int(c), ALONE) for c in component], dtype=np.int32)


def keep_one_of_each(groups: np.ndarray) -> np.ndarray:
    """The rows to leave out so one row of each group remains (its first, by ls_index): sorted ls_index."""
    grouped = np.flatnonzero(groups != ALONE)
    _, first = np.unique(groups[grouped], return_index=True)
    keep = np.zeros(len(groups), dtype=bool)
    keep[grouped[first]] = True
    return np.flatnonzero((groups != ALONE) & ~keep)
