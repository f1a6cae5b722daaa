"""Cluster: HDBSCAN on a 10D UMAP of the embeddings (or the 2D map); clusters numbered by size.

The default (leaf clusters of a 10D UMAP, noise rows given to the cluster of their nearest clustered rows) was
chosen with bench/cluster_quality.py: on labelled real sets it agrees with the labels better than excess-of-mass
on the 2D map, which can put most rows of a dataset in one cluster. raw_cluster keeps HDBSCAN's own -1 for noise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ls_pipeline.errors import UserError
from ls_pipeline.jit_cache import cached_import
from ls_pipeline.params import BOOLEAN, OPTIONAL_POSITIVE, Check, choice, integer, number, param, validate
from ls_pipeline.stages.groups import Members
from ls_pipeline.stages.outline import Outlines
from ls_pipeline.stages.umap import KnnSource, UmapParams, project_for_clustering

CODE_VERSION = "2"  # 2: hierarchy from the condensed tree; noise assignment
NOISE_LABEL = "Unclustered"
_CLUSTER_ON = "unknown cluster_on {value!r}: use umap_10d, umap or embedding"
_WEIGHT = Check(
    lambda v: v is None or (isinstance(v, int | float) and not isinstance(v, bool) and 0 < v < 1),
    "a number above 0 and below 1, or null",
)


@dataclass(frozen=True)
class ClusterParams:
    min_cluster_size: int = param(
        15, "HDBSCAN's min_cluster_size: the fewest points a cluster may have", integer(2), alias="samples"
    )
    min_samples: int = param(5, "HDBSCAN's min_samples: higher calls more points noise", integer(1))
    cluster_selection_epsilon: float = param(0.0, "merge clusters closer than this", number(0))
    # hdbscan: measured faster here (bench/cluster_methods.py); fast_hdbscan pays a numba compile in every new process
    method: Literal["hdbscan", "fast_hdbscan"] = param(
        "hdbscan",
        "HDBSCAN implementation",
        choice("hdbscan", "fast_hdbscan", message="unknown cluster method {value!r}: use hdbscan or fast_hdbscan"),
    )
    # leaf: the finest clusters of HDBSCAN's tree; eom (excess of mass) may pick one node holding most rows.
    selection: Literal["leaf", "eom"] = param(
        "leaf",
        "HDBSCAN's cluster selection: leaf (the finest clusters) or eom (excess of mass, Latent Scope's)",
        choice("leaf", "eom", message="unknown selection {value!r}: use leaf or eom"),
    )
    # The map shown is 2D whichever is chosen.
    cluster_on: Literal["umap_10d", "umap", "embedding"] = param(
        "umap_10d",
        "what HDBSCAN runs on: a 10D UMAP made for clustering, the 2D map itself, or the embedding vectors",
        choice("umap_10d", "umap", "embedding", message=_CLUSTER_ON),
    )
    assign_noise: bool = param(
        True, "noise rows join the cluster of their nearest clustered rows on the map (raw_cluster stays -1)", BOOLEAN
    )
    # The map is laid out again with the clusters as UMAP targets, so a cluster's colour holds together on it
    # (bench/map_quality.py); clusters found on the map itself already do.
    map_target_weight: float | None = param(
        0.1,
        "redraw the map with the clusters as UMAP targets at this weight (0-1), so clusters hold together on it; "
        "null: keep the map as UMAP drew it (always kept with cluster_on umap)",
        _WEIGHT,
    )
    # 200: what UMAP itself runs above 10,000 rows. Below, its own 500 cost more than twice the optimizing time for
    # clusters that agree with known labels no better (bench/cluster_quality.py; docs/performance.md).
    umap_epochs: int | None = param(
        200,
        "epochs of the 10D UMAP made for clustering (cluster_on umap_10d); null: UMAP's own (500 to 10,000 rows)",
        OPTIONAL_POSITIVE,
    )

    def __post_init__(self) -> None:
        validate(self)

    def fingerprint_fields(self) -> dict[str, object]:
        """What decides a clustering. umap_epochs only where it applies and is set, so clusterings on the map or
        the vectors, and those made with UMAP's own epochs, keep the fingerprints they had before it existed;
        map_target_weight likewise."""
        fields = dataclasses.asdict(self)
        if self.cluster_on != "umap_10d" or self.umap_epochs is None:
            del fields["umap_epochs"]
        if not self.redraws_map():  # clusterings on a map kept as drawn keep the fingerprints they had before
            del fields["map_target_weight"]
        return fields

    def redraws_map(self) -> bool:
        return self.map_target_weight is not None and self.cluster_on != "umap"


@dataclass(frozen=True)
class ClusterChecks:
    """Limits a clustering must meet before labeling spends anything on it (the recipe's `checks`)."""

    max_noise_share: float = param(0.6, "the most of the points that may be noise")
    min_clusters: int = param(2, "the fewest clusters a clustering may have")
    max_clusters: int = param(1000, "the most clusters a clustering may have")
    # A warning, not a stop (the cluster_shape check): the map is likely one blob, or a pile of unclustered rows.
    warn_largest_share: float = param(0.2, "warn when the largest cluster holds more than this share of the rows")
    warn_noise_share: float = param(0.2, "warn when more than this share of the rows is left unclustered")


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


# Fewer rows than this many times min_cluster_size leave room for only a few clusters: one UMAP seed or one CPU to
# the next, a cluster more or less moves the noise share by a large step (bench/test_margins.py).
FEW_CLUSTERS_ROOM = 10


def way_out(rows: int, min_cluster_size: int) -> str:
    """What to change when a clustering breaks the limits; for a dataset small for its min_cluster_size, which."""
    if rows >= FEW_CLUSTERS_ROOM * min_cluster_size:
        return "change the recipe's cluster parameters or its checks"
    return (
        f"{rows} rows leave room for few clusters of min_cluster_size {min_cluster_size}, so their count and noise "
        f"share change from one UMAP seed or machine to the next: lower min_cluster_size (to about "
        f"{max(2, rows // 15)}) or loosen the recipe's checks"
    )


@dataclass(frozen=True)
class Clustering:
    cluster: np.ndarray  # shown cluster per row, numbered by size; noise (when kept) gets the last id
    raw: np.ndarray  # HDBSCAN's label per row, -1 for noise
    hierarchy: list[dict[int, int]]  # per level above the clusters: parent of each group below (may be empty)


def cluster_points(points: np.ndarray, params: ClusterParams) -> tuple[np.ndarray, np.ndarray]:
    """(cluster, raw_cluster) per point of `points` (the space chosen by params.cluster_on)."""
    found = cluster(points, params)
    return found.cluster, found.raw


def cluster(points: np.ndarray, params: ClusterParams, levels: int = 0) -> Clustering:
    """Clusters of `points` and up to `levels` levels of topics above them from HDBSCAN's own tree."""
    if len(points) < params.min_cluster_size:
        raise UserError(f"{len(points)} points cannot hold a cluster of min_cluster_size={params.min_cluster_size}")
    raw, tree = _hdbscan(points, params)
    shown = assign_noise(points, raw) if params.assign_noise else raw
    numbered = renumber_by_size(shown)
    fine = np.where(shown >= 0, numbered, -1)
    hierarchy = _tree_hierarchy(points, tree, fine, levels, params) if tree is not None and levels else []
    return Clustering(numbered, raw, hierarchy)


def with_left_out(found: Clustering, left_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cluster, raw_cluster) for every row, from a clustering of the rows not `left_out` (a boolean per row): the
    rows left out are noise (raw -1) in the id noise has, one past the clusters, so no cluster or label holds them."""
    if not left_out.any():
        return found.cluster, found.raw
    noise_id = len(np.unique(found.raw[found.raw >= 0]))
    cluster = np.full(len(left_out), noise_id, dtype=found.cluster.dtype)
    raw = np.full(len(left_out), -1, dtype=found.raw.dtype)
    cluster[~left_out], raw[~left_out] = found.cluster, found.raw
    return cluster, raw


def clustering_space(
    params: ClusterParams, xy: np.ndarray, vectors: Callable[[], np.ndarray], umap: UmapParams, knn: KnnSource | None
) -> np.ndarray:
    """The points HDBSCAN runs on: the 2D map, the vectors, or a 10D UMAP with the map's own UMAP parameters."""
    if params.cluster_on == "umap":
        return xy
    if params.cluster_on == "embedding":
        return vectors()
    return project_for_clustering(vectors(), umap, 10, knn, params.umap_epochs)


def _hdbscan(points: np.ndarray, params: ClusterParams) -> tuple[np.ndarray, np.ndarray | None]:
    """HDBSCAN's labels and its single-linkage tree (None from fast_hdbscan, whose tree we do not read)."""
    kwargs = {
        "min_cluster_size": params.min_cluster_size,
        "min_samples": params.min_samples,
        "cluster_selection_epsilon": float(params.cluster_selection_epsilon),
        "cluster_selection_method": params.selection,
    }
    if params.method == "fast_hdbscan":
        # its numba kd-tree takes C order only; a map read from parquet (to_numpy of two columns) is Fortran order
        points = np.ascontiguousarray(points, dtype=np.float32)
        return cached_import("fast_hdbscan").HDBSCAN(**kwargs).fit_predict(points).astype(np.int32), None
    import hdbscan

    model = hdbscan.HDBSCAN(**kwargs).fit(points.astype(np.float64))
    return model.labels_.astype(np.int32), model.single_linkage_tree_.to_numpy()


def _tree_hierarchy(
    points: np.ndarray, single_linkage: np.ndarray, fine: np.ndarray, levels: int, params: ClusterParams
) -> list[dict[int, int]]:
    from ls_pipeline.stages import cluster_tree
    from ls_pipeline.stages.label.levels import level_sizes

    n_clusters = int(fine.max(initial=-1)) + 1
    maps = cluster_tree.coarser_levels(
        single_linkage, fine, level_sizes(n_clusters, levels), params.min_cluster_size,
        lambda labels: assign_noise(points, labels),
    )  # fmt: skip
    below = n_clusters
    for i, mapping in enumerate(maps):  # a level no coarser than the one below it nests nothing: stop there
        topics = len(set(mapping.values()))
        if topics >= below or topics < 2:
            return maps[:i]
        below = topics
    return maps


def renumber_by_size(raw: np.ndarray) -> np.ndarray:
    found = raw[raw >= 0]
    ids, counts = np.unique(found, return_counts=True)
    ranked = ids[np.lexsort((ids, -counts))]
    mapping = np.full(int(raw.max(initial=-1)) + 2, len(ranked), dtype=np.int32)  # last slot: noise (-1)
    mapping[ranked] = np.arange(len(ranked), dtype=np.int32)
    return mapping[raw]


def shape(cluster: np.ndarray, summary: pd.DataFrame) -> dict[str, float]:
    """The shares a reader of the map sees: the largest cluster's, and the rows left unclustered on it."""
    counts = summary.loc[~summary["noise"], "count"]
    rows = max(len(cluster), 1)
    return {
        "largest_share": round(float(counts.max()) / rows, 4) if len(counts) else 0.0,
        "unclustered_share": round(float(summary.loc[summary["noise"], "count"].sum()) / rows, 4),
    }


def noise_share(raw: np.ndarray) -> float:
    return float((raw < 0).mean()) if len(raw) else 0.0


def summarize(xy: np.ndarray, cluster: np.ndarray, raw: np.ndarray) -> pd.DataFrame:
    """The default labels table: one row per cluster with its member indices and its outline (outline.py)."""
    rows = []
    n = int(cluster.max(initial=-1)) + 1
    named = cluster >= 0
    sizes = np.bincount(cluster[named], minlength=n)
    clustered = np.bincount(cluster[named], weights=raw[named] >= 0, minlength=n)
    noise = np.flatnonzero((sizes > 0) & (clustered == 0))  # with noise assigned, no cluster is noise
    shown = np.where(np.isin(cluster, noise), -1, cluster)  # unclustered rows are no cluster to cross
    outlines, members_of, noise_ids = Outlines(xy, shown), Members(cluster), set(noise.tolist())
    for cid in range(n):
        members = members_of(cid)
        is_noise = cid in noise_ids
        rows.append(
            {
                "cluster": cid,
                "label": NOISE_LABEL if is_noise else f"Cluster {cid}",
                "description": "points HDBSCAN left out of every cluster" if is_noise else "",
                "count": len(members),
                "noise": is_noise,
                "indices": members.tolist(),
                "hull": [] if is_noise else outlines.outline(cid),
            }
        )
    return pd.DataFrame(rows)


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
