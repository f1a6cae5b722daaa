"""The default clustering: leaf clusters, noise assigned, topics from HDBSCAN's own tree, the shape warning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ls_pipeline.defs import checks
from ls_pipeline.errors import UserError
from ls_pipeline.stages import cluster
from ls_pipeline.stages.label import levels
from ls_pipeline.stages.umap import UmapParams
from ls_pipeline.store.sidecars import ClusterSidecar


def nested_blobs(groups: int = 3, parts: int = 3, rows: int = 30, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points in 5D: `groups` far-apart groups, each of `parts` nearby tight blobs; and each row's group."""
    rng = np.random.default_rng(seed)
    points, group = [], []
    for g in range(groups):
        centre = rng.normal(0, 1, 5) * 20
        for _ in range(parts):
            points.append(centre + rng.normal(0, 1, 5) * 2 + rng.normal(0, 0.15, (rows, 5)))
            group += [g] * rows
    return np.vstack(points).astype(np.float32), np.array(group)


def test_topics_above_the_clusters_nest_and_follow_the_data_own_groups() -> None:
    points, group = nested_blobs()
    found = cluster.cluster(points, cluster.ClusterParams(min_cluster_size=10, min_samples=5), levels=2)
    n_clusters = int(found.cluster.max()) + 1
    assert n_clusters >= 6 and found.hierarchy, "leaf clusters are the blobs, with topics above them"
    level1 = found.hierarchy[0]
    assert set(level1) == set(range(n_clusters)), "every cluster has a topic"
    assert 2 <= len(set(level1.values())) < n_clusters
    topic = levels.rows_at_level(found.cluster, found.hierarchy, 1)
    for g in range(3):  # a group's clusters share one topic, and that topic holds no other group
        assert len(set(topic[group == g])) == 1
    assert len(set(topic)) == 3
    for upper, lower in zip(found.hierarchy[1:], found.hierarchy, strict=False):
        assert set(upper) == set(lower.values()) and len(set(upper.values())) < len(upper)


def test_noise_rows_join_their_nearest_cluster_and_raw_cluster_keeps_minus_one() -> None:
    points, _ = nested_blobs(groups=2, parts=1, rows=40)
    stray = points[:3] + 0.9  # near the first blob, too few and too loose to be a cluster
    points = np.vstack([points, stray])
    raw = np.array([0] * 40 + [1] * 40 + [-1] * 3)
    shown = cluster.assign_noise(points, raw)
    assert shown[-3:].tolist() == [0, 0, 0] and shown[:80].tolist() == raw[:80].tolist()
    found = cluster.cluster(points, cluster.ClusterParams(min_cluster_size=10, min_samples=3, selection="eom"))
    noisy = found.raw < 0
    summary = cluster.summarize(points[:, :2], found.cluster, found.raw)
    assert not summary["noise"].any() and (found.cluster >= 0).all()
    kept = cluster.cluster(points, cluster.ClusterParams(min_cluster_size=10, min_samples=3, assign_noise=False))
    if noisy.any():  # kept apart, the noise rows are a cluster of their own, marked as noise
        assert cluster.summarize(points[:, :2], kept.cluster, kept.raw)["noise"].sum() == 1


def test_the_space_clustered_on_is_the_one_the_recipe_names() -> None:
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(60, 8)).astype(np.float32)
    xy = rng.uniform(-1, 1, size=(60, 2)).astype(np.float32)
    umap = UmapParams(neighbors=5)
    on = {c: cluster.ClusterParams(cluster_on=c) for c in ("umap", "embedding", "umap_10d")}
    assert cluster.clustering_space(on["umap"], xy, lambda: vectors, umap, None) is xy
    assert cluster.clustering_space(on["embedding"], xy, lambda: vectors, umap, None) is vectors
    assert cluster.clustering_space(on["umap_10d"], xy, lambda: vectors, umap, None).shape == (60, 10)
    with pytest.raises(UserError, match="cluster_on"):
        cluster.ClusterParams(cluster_on="tsne")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="selection"):
        cluster.ClusterParams(selection="best")  # type: ignore[arg-type]


class _Artifact:
    def __init__(self, sidecar: dict[str, object]) -> None:
        self.id, self.sidecar = "cluster-001", ClusterSidecar.from_json(sidecar)


def test_shape_check_warns_on_a_dominant_cluster_with_its_figures() -> None:
    assigned = np.array([0] * 8 + [1] * 2)
    summary = pd.DataFrame({"count": [8, 2], "noise": [False, False]})
    shape = cluster.shape(assigned, summary)
    assert shape == {"largest_share": 0.8, "unclustered_share": 0.0}
    result = checks.cluster_shape(_Artifact({**shape, "noise_share": 0.3}), cluster.ClusterChecks())
    assert not result.passed and result.severity.name == "WARN"
    assert "80%" in result.description and not checks.CLUSTER_SHAPE.blocking
    assert result.metadata["largest_share"].value == 0.8 and result.metadata["warn_largest_share"].value == 0.2
    fine = checks.cluster_shape(_Artifact({"largest_share": 0.1, "unclustered_share": 0.05, "noise_share": 0.3}),
                                cluster.ClusterChecks())  # fmt: skip
    assert fine.passed
