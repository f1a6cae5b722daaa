"""Project: UMAP from the embedding space to 2D, scaled into [-1, 1] with the aspect ratio kept."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np

from ls_pipeline.errors import UserError

CODE_VERSION = "1"
log = logging.getLogger(__name__)


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


def project(vectors: np.ndarray, params: UmapParams) -> np.ndarray:
    """2D coordinates, one row per vector. Exact duplicates are laid out once and share their point."""
    unique, inverse = np.unique(vectors, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    if len(unique) <= params.neighbors:
        raise UserError(
            f"UMAP needs more distinct rows than neighbors: {len(unique)} distinct of {len(vectors)} rows, "
            f"neighbors={params.neighbors}; lower neighbors below {len(unique)} or add rows"
        )
    log.info("UMAP on %d distinct of %d rows (neighbors=%d)", len(unique), len(vectors), params.neighbors)
    xy = _umap(unique, params)[inverse]
    return scale_to_unit(xy)


def _umap(vectors: np.ndarray, params: UmapParams) -> np.ndarray:
    import umap  # numba compiles on import and first call: keep it off the import path of the CLI and viewer

    reducer = umap.UMAP(
        n_neighbors=params.neighbors,
        min_dist=params.min_dist,
        metric=params.metric,
        random_state=params.seed,
        n_components=2,
    )
    with warnings.catch_warnings():
        # A fixed seed turns off parallelism; UMAP warns about it every run. We choose reproducibility.
        warnings.filterwarnings("ignore", message=".*n_jobs value.*overridden.*")
        return np.asarray(reducer.fit_transform(vectors), dtype=np.float32)


def scale_to_unit(xy: np.ndarray) -> np.ndarray:
    """Center on the bounding box and divide by the larger half-extent: the longer axis spans [-1, 1]."""
    low, high = xy.min(axis=0), xy.max(axis=0)
    half = float((high - low).max()) / 2 or 1.0
    return ((xy - (low + high) / 2) / half).astype(np.float32)
