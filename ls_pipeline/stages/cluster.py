"""Cluster: HDBSCAN on the 2D points; clusters numbered by size, noise kept as a cluster of its own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ls_pipeline.errors import UserError

CODE_VERSION = "1"
NOISE_LABEL = "Unclustered"


@dataclass(frozen=True)
class ClusterParams:
    min_cluster_size: int = 15  # Latent Scope calls it "samples"
    min_samples: int = 5
    cluster_selection_epsilon: float = 0.0
    # hdbscan: measured faster here (bench/cluster_methods.py); fast_hdbscan pays a numba compile in every new process
    method: Literal["hdbscan", "fast_hdbscan"] = "hdbscan"

    def __post_init__(self) -> None:
        if not isinstance(self.min_cluster_size, int) or self.min_cluster_size < 2:
            raise UserError(
                f"min_cluster_size (samples) must be an integer of at least 2, got {self.min_cluster_size!r}"
            )
        if not isinstance(self.min_samples, int) or self.min_samples < 1:
            raise UserError(f"min_samples must be a positive integer, got {self.min_samples!r}")
        if not isinstance(self.cluster_selection_epsilon, int | float) or self.cluster_selection_epsilon < 0:
            raise UserError(f"cluster_selection_epsilon must be >= 0, got {self.cluster_selection_epsilon!r}")
        if self.method not in ("hdbscan", "fast_hdbscan"):
            raise UserError(f"unknown cluster method {self.method!r}: use hdbscan or fast_hdbscan")


@dataclass(frozen=True)
class ClusterChecks:
    """Limits a clustering must meet before labeling spends anything on it (the recipe's `checks`)."""

    max_noise_share: float = 0.6
    min_clusters: int = 2
    max_clusters: int = 1000


def check_clustering(n_clusters: int, noise: float, checks: ClusterChecks) -> list[str]:
    """The ways a clustering breaks the limits; empty when it passes."""
    problems = []
    if noise > checks.max_noise_share:
        problems.append(f"noise share {noise:.2f} is above max_noise_share {checks.max_noise_share}")
    if n_clusters < checks.min_clusters:
        problems.append(f"{n_clusters} clusters is below min_clusters {checks.min_clusters}")
    if n_clusters > checks.max_clusters:
        problems.append(f"{n_clusters} clusters is above max_clusters {checks.max_clusters}")
    return problems


def cluster_points(xy: np.ndarray, params: ClusterParams) -> tuple[np.ndarray, np.ndarray]:
    """(cluster, raw_cluster) per point. raw_cluster is HDBSCAN's label (-1 noise); cluster renumbers the
    clusters from largest to smallest and gives noise the next id, so every point has a cluster to show."""
    if len(xy) < params.min_cluster_size:
        raise UserError(f"{len(xy)} points cannot hold a cluster of min_cluster_size={params.min_cluster_size}")
    raw = _hdbscan(xy, params)
    return renumber_by_size(raw), raw


def _hdbscan(xy: np.ndarray, params: ClusterParams) -> np.ndarray:
    kwargs = {
        "min_cluster_size": params.min_cluster_size,
        "min_samples": params.min_samples,
        "cluster_selection_epsilon": float(params.cluster_selection_epsilon),
    }
    if params.method == "fast_hdbscan":
        import fast_hdbscan

        return fast_hdbscan.HDBSCAN(**kwargs).fit_predict(xy).astype(np.int32)
    import hdbscan

    return hdbscan.HDBSCAN(**kwargs).fit_predict(xy.astype(np.float64)).astype(np.int32)


def renumber_by_size(raw: np.ndarray) -> np.ndarray:
    found = raw[raw >= 0]
    ids, counts = np.unique(found, return_counts=True)
    ranked = ids[np.lexsort((ids, -counts))]
    mapping = np.full(int(raw.max(initial=-1)) + 2, len(ranked), dtype=np.int32)  # last slot: noise (-1)
    mapping[ranked] = np.arange(len(ranked), dtype=np.int32)
    return mapping[raw]


def noise_share(raw: np.ndarray) -> float:
    return float((raw < 0).mean()) if len(raw) else 0.0


def summarize(xy: np.ndarray, cluster: np.ndarray, raw: np.ndarray) -> pd.DataFrame:
    """The default labels table: one row per cluster with its member indices and convex hull."""
    rows = []
    for cid in range(int(cluster.max(initial=-1)) + 1):
        members = np.flatnonzero(cluster == cid)
        is_noise = bool(len(members) and raw[members[0]] < 0)
        rows.append(
            {
                "cluster": cid,
                "label": NOISE_LABEL if is_noise else f"Cluster {cid}",
                "description": "points HDBSCAN left out of every cluster" if is_noise else "",
                "count": len(members),
                "noise": is_noise,
                "indices": members.tolist(),
                "hull": [] if is_noise else hull_indices(xy, members),
            }
        )
    return pd.DataFrame(rows)


def hull_indices(xy: np.ndarray, members: np.ndarray) -> list[int]:
    """ls_index of the cluster's convex hull vertices, counter-clockwise; the members themselves if degenerate."""
    if len(members) < 3:
        return members.tolist()
    from scipy.spatial import ConvexHull, QhullError  # imported here: it slows every ls-* command's start

    try:
        hull = ConvexHull(xy[members])
    except QhullError:  # all points on a line or on one spot
        return members[:3].tolist()
    return members[hull.vertices].tolist()


def assign_noise(points: np.ndarray, raw: np.ndarray, neighbours: int = 5) -> np.ndarray:
    """raw with each noise row (-1) given the cluster most of its nearest clustered rows are in, in `points`'
    space (the space the clustering ran on): a map without an "Unclustered" pile, raw_cluster still says -1."""
    clustered = raw >= 0
    if clustered.all() or not clustered.any():
        return raw.copy()
    from sklearn.neighbors import KNeighborsClassifier

    vote = KNeighborsClassifier(n_neighbors=min(neighbours, int(clustered.sum())))
    vote.fit(points[clustered], raw[clustered])
    out = raw.copy()
    out[~clustered] = vote.predict(points[~clustered])
    return out
