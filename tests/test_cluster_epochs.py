"""The 10D UMAP the default clusters on runs a set number of epochs; only clusterings it changes change fingerprint."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ls_pipeline.errors import UserError
from ls_pipeline.recipe import load_recipe, parse_recipe
from ls_pipeline.stages import cluster
from ls_pipeline.stages import umap as umap_stage
from ls_pipeline.stages.umap import UmapParams


def test_the_default_clusters_on_a_200_epoch_10d_umap_and_its_fingerprint_says_so() -> None:
    params = cluster.ClusterParams()
    assert params.cluster_on == "umap_10d" and params.umap_epochs == 200
    assert params.fingerprint_fields()["umap_epochs"] == 200
    assert load_recipe().cluster.umap_epochs == 200  # the shipped default recipe
    assert parse_recipe("bare", "cluster: {min_cluster_size: 15}").cluster.umap_epochs == 200  # one that does not say
    assert parse_recipe("old", "cluster: {umap_epochs: null}").cluster.umap_epochs is None


def test_clusterings_the_epochs_do_not_touch_keep_the_fingerprint_fields_they_had() -> None:
    later = ("umap_epochs", "map_target_weight")  # settings newer than these clusterings
    before = {
        k: v for k, v in dataclasses.asdict(cluster.ClusterParams(map_target_weight=None)).items() if k not in later
    }
    # UMAP's own epochs (null) is the clustering made before the setting existed: the same fields, the same artifact
    assert cluster.ClusterParams(umap_epochs=None, map_target_weight=None).fingerprint_fields() == before
    for on in ("umap", "embedding"):  # no 10D UMAP: its epochs are no part of the clustering
        fields = cluster.ClusterParams(cluster_on=on, umap_epochs=50, map_target_weight=None).fingerprint_fields()
        assert fields == {**before, "cluster_on": on}
    assert cluster.ClusterParams(umap_epochs=500).fingerprint_fields() != cluster.ClusterParams().fingerprint_fields()


def test_the_epochs_reach_umap(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int | None] = []
    real = umap_stage._reducer

    def spy(params: UmapParams, dims: int, knn: object, epochs: int | None = None) -> object:
        seen.append(epochs)
        return real(params, dims, knn, epochs)

    monkeypatch.setattr(umap_stage, "_reducer", spy)
    vectors = np.random.default_rng(0).normal(size=(60, 8)).astype(np.float32)
    xy = np.zeros((60, 2), dtype=np.float32)
    for epochs in (30, None):
        points = cluster.clustering_space(
            cluster.ClusterParams(umap_epochs=epochs), xy, lambda: vectors, UmapParams(neighbors=5), None
        )
        assert points.shape == (60, 10)
    assert seen == [30, None]


@pytest.mark.parametrize("bad", [0, -5, 2.5, True, "many"])
def test_epochs_must_be_a_positive_integer_or_null(bad: object) -> None:
    with pytest.raises(UserError, match="umap_epochs"):
        cluster.ClusterParams(umap_epochs=bad)  # type: ignore[arg-type]
