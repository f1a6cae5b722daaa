"""UMAP's neighbour graph kept per (embedding fingerprint, neighbors, metric, seed, method).

A UMAP sweep over min_dist (or anything but the neighbours) then skips the neighbour search, the larger part of
UMAP's time here. Files: $LATENT_SCOPE_DATA/_cache/knn/<fingerprint>-<metric>-n<neighbors>-s<seed>.npz for
NNDescent's graphs (the name they always had), with `-exact` before the suffix for exact ones; written atomically.
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
NNDESCENT = "nndescent"  # the method whose files carry no method in their name
Compute = Callable[[np.ndarray, Any, str], Knn]  # (distinct vectors, params, method) -> graph


class KnnCache:
    def __init__(self, folder: Path, embedding_fingerprint: str, compute: Compute) -> None:
        self.folder = folder
        self.embedding_fingerprint = embedding_fingerprint
        self.compute = compute
        self.reused = False
        self.method: str | None = None  # how the graph last asked for was made; None: never asked (UMAP's own)

    @classmethod
    def in_data_dir(cls, root: Path, embedding_fingerprint: str, compute: Compute) -> KnnCache:
        return cls(root.joinpath(*KNN_CACHE), embedding_fingerprint, compute)

    def path(self, params: Any, method: str = NNDESCENT) -> Path:
        metric = "".join(c if c.isalnum() else "_" for c in params.metric)
        how = "" if method == NNDESCENT else f"-{method}"
        name = f"{self.embedding_fingerprint}-{metric}-n{params.neighbors}-s{params.seed}{how}{KNN_SUFFIX}"
        return self.folder / name

    def __call__(self, unique: np.ndarray, params: Any, method: str = NNDESCENT) -> Knn:
        """The graph for these distinct vectors and parameters (needs .neighbors, .metric, .seed), made by
        `method` (the compute function's third argument)."""
        path = self.path(params, method)
        self.method = method
        if path.is_file():
            with readable(path) as source, np.load(source) as stored:
                if stored["indices"].shape == (len(unique), params.neighbors):
                    log.info("reusing the UMAP neighbour graph %s", path.name)
                    self.reused = True
                    return stored["indices"], stored["distances"]
        indices, distances = self.compute(unique, params, method)
        with atomic.atomic_path(path) as tmp, tmp.open("wb") as handle:
            np.savez(handle, indices=indices, distances=distances)
        return indices, distances
