"""UMAP's neighbour graph kept per (embedding fingerprint, neighbors, metric, seed).

A UMAP sweep over min_dist (or anything but the neighbours) then skips the neighbour search, the larger part of
UMAP's time here. Files: $LATENT_SCOPE_DATA/_cache/knn/<fingerprint>-<metric>-n<neighbors>-s<seed>.npz, atomic.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ls_pipeline.store import atomic
from ls_pipeline.store.files import readable
from ls_pipeline.store.layout import KNN_CACHE, KNN_SUFFIX

log = logging.getLogger(__name__)

Knn = tuple[np.ndarray, np.ndarray]  # (indices, distances)


class KnnCache:
    def __init__(self, folder: Path, embedding_fingerprint: str, compute: Callable[[np.ndarray, Any], Knn]) -> None:
        self.folder = folder
        self.embedding_fingerprint = embedding_fingerprint
        self.compute = compute
        self.reused = False

    @classmethod
    def in_data_dir(cls, root: Path, embedding_fingerprint: str, compute: Callable[[np.ndarray, Any], Knn]) -> KnnCache:
        return cls(root.joinpath(*KNN_CACHE), embedding_fingerprint, compute)

    def path(self, params: Any) -> Path:
        metric = "".join(c if c.isalnum() else "_" for c in params.metric)
        return self.folder / f"{self.embedding_fingerprint}-{metric}-n{params.neighbors}-s{params.seed}{KNN_SUFFIX}"

    def __call__(self, unique: np.ndarray, params: Any) -> Knn:
        """The graph for these distinct vectors and parameters (needs .neighbors, .metric, .seed)."""
        path = self.path(params)
        if path.is_file():
            with readable(path) as source, np.load(source) as stored:
                if stored["indices"].shape == (len(unique), params.neighbors):
                    log.info("reusing the UMAP neighbour graph %s", path.name)
                    self.reused = True
                    return stored["indices"], stored["distances"]
        indices, distances = self.compute(unique, params)
        with atomic.atomic_path(path) as tmp, tmp.open("wb") as handle:
            np.savez(handle, indices=indices, distances=distances)
        return indices, distances
