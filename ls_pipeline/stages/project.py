"""Project: UMAP from the embedding space to 2D, scaled into [-1, 1] with the aspect ratio kept."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ls_pipeline.errors import UserError

CODE_VERSION = "2"  # 2: the kNN graph is computed apart from UMAP (so it can be reused) above 4096 rows
log = logging.getLogger(__name__)

# Below this many distinct rows UMAP computes exact neighbours itself (cheap); above it, it runs NNDescent, which
# is what we compute apart and reuse across UMAP runs with the same neighbours (UMAP's own threshold).
KNN_MIN_ROWS = 4096

Knn = tuple[np.ndarray, np.ndarray]  # (indices, distances), one row per distinct vector
KnnSource = Callable[[np.ndarray, "UmapParams"], Knn]


@dataclass(frozen=True)
class UmapParams:
    neighbors: int = 25
    min_dist: float = 0.1
    seed: int = 42
    metric: str = "cosine"

    def __post_init__(self) -> None:
        if not isinstance(self.neighbors, int) or self.neighbors < 2:
            raise UserError(f"neighbors must be an integer of at least 2, got {self.neighbors!r}")
        if not isinstance(self.min_dist, int | float) or not 0 <= self.min_dist <= 1:
            raise UserError(f"min_dist must be a number from 0 to 1, got {self.min_dist!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise UserError(f"seed must be a non-negative integer, got {self.seed!r}")


def distinct(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows and, per input row, the index of its distinct row: duplicates are laid out once."""
    unique, inverse = np.unique(vectors, axis=0, return_inverse=True)
    return unique, inverse.reshape(-1)


def project(vectors: np.ndarray, params: UmapParams, knn: KnnSource | None = None) -> np.ndarray:
    """2D coordinates, one row per vector. Exact duplicates are laid out once and share their point.
    `knn(unique_vectors)` supplies the neighbour graph (e.g. from a cache); by default it is computed here."""
    unique, inverse = distinct(vectors)
    if len(unique) <= params.neighbors:
        raise UserError(
            f"UMAP needs more distinct rows than neighbors: {len(unique)} distinct of {len(vectors)} rows, "
            f"neighbors={params.neighbors}; lower neighbors below {len(unique)} or add rows"
        )
    log.info("UMAP on %d distinct of %d rows (neighbors=%d)", len(unique), len(vectors), params.neighbors)
    graph = None
    if len(unique) >= KNN_MIN_ROWS:
        graph = (knn or knn_graph)(unique, params)
    xy = _umap(unique, params, graph)[inverse]
    return scale_to_unit(xy)


def knn_graph(unique: np.ndarray, params: UmapParams) -> Knn:
    """UMAP's own approximate neighbour search (NNDescent), called as UMAP.fit calls it for a fixed seed."""
    from sklearn.utils import check_random_state
    from umap.umap_ import nearest_neighbors

    indices, distances, _ = nearest_neighbors(
        unique, params.neighbors, params.metric, {}, False, check_random_state(params.seed), n_jobs=1
    )
    return np.asarray(indices), np.asarray(distances)


def _umap(vectors: np.ndarray, params: UmapParams, knn: Knn | None = None) -> np.ndarray:
    import umap  # numba compiles on import and first call: keep it off the import path of the CLI and viewer

    reducer = umap.UMAP(
        n_neighbors=params.neighbors,
        min_dist=params.min_dist,
        metric=params.metric,
        random_state=params.seed,
        n_components=2,
        precomputed_knn=knn or (None, None, None),
    )
    with warnings.catch_warnings():
        # A fixed seed turns off parallelism; UMAP warns about it every run. We choose reproducibility.
        warnings.filterwarnings("ignore", message=".*n_jobs value.*overridden.*")
        # Without the search index UMAP cannot transform new points later; we never do.
        warnings.filterwarnings("ignore", message=".*knn_search_index.*")
        return np.asarray(reducer.fit_transform(vectors), dtype=np.float32)


def scale_to_unit(xy: np.ndarray) -> np.ndarray:
    """Center on the bounding box and divide by the larger half-extent: the longer axis spans [-1, 1]."""
    low, high = xy.min(axis=0), xy.max(axis=0)
    half = float((high - low).max()) / 2 or 1.0
    return ((xy - (low + high) / 2) / half).astype(np.float32)
