"""The default clustering redraws the map with its clusters as UMAP targets, so a cluster's colour holds together on
the map, while the map UMAP drew stays as it was and new rows still join the map the user saw."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ls_pipeline import steps
from ls_pipeline.stages import map_quality
from ls_pipeline.stages.cluster import ClusterParams
from ls_pipeline.stages.embed import EmbedParams
from ls_pipeline.stages.ingest import IngestParams
from ls_pipeline.stages.label import LabelParams
from ls_pipeline.stages.scope import ScopeParams
from ls_pipeline.stages.umap import UmapParams
from ls_pipeline.steps.cluster import read_default_labels
from ls_pipeline.store import DataDir
from ls_pipeline.store.datadir import Dataset


@pytest.fixture(scope="module")
def mapped(tmp_path_factory: pytest.TempPathFactory, sample_frame: pd.DataFrame) -> tuple[Dataset, str, str]:
    """300 real rows embedded and laid out once; (dataset, embedding id, map id)."""
    data = DataDir(tmp_path_factory.mktemp("redraw") / "data")
    steps.ingest(data, "d", sample_frame, IngestParams(text_column="text"))
    ds = data.dataset("d")
    embedding = steps.embed(ds, EmbedParams())
    return ds, embedding.id, steps.umap(ds, embedding.id, UmapParams(neighbors=10, seed=7)).id


def test_clusters_hold_together_on_the_redrawn_map_and_the_text_neighbourhoods_stay(
    mapped: tuple[Dataset, str, str],
) -> None:
    ds, embedding_id, umap_id = mapped
    as_drawn = steps.cluster(ds, umap_id, ClusterParams(8, 3, map_target_weight=None))
    redrawn = steps.cluster(ds, umap_id, ClusterParams(8, 3))
    assert as_drawn.sidecar.umap_id == umap_id and redrawn.sidecar.umap_id not in (umap_id, "")
    new_map = ds.sidecar("umap", redrawn.sidecar.umap_id)
    assert new_map["redrawn_from"] == umap_id and new_map["target_weight"] == 0.1
    assert new_map["neighbors"] == 10 and new_map["embedding_id"] == embedding_id  # the layout it was drawn with

    # The map changes, the clustering does not: the same clusters, only drawn apart.
    clusters = steps.read_clusters(ds, redrawn.id)["cluster"].to_numpy()
    np.testing.assert_array_equal(clusters, steps.read_clusters(ds, as_drawn.id)["cluster"].to_numpy())
    before, after = steps.read_umap(ds, umap_id), steps.read_umap(ds, new_map.id)
    assert np.abs(after).max() <= 1.0 and not np.allclose(before, after)

    # What a reader sees: a row's nearest points share its cluster, and are still the texts nearest to it.
    assert redrawn.sidecar["map_coherence"] >= 0.9 > as_drawn.sidecar["map_coherence"]
    assert redrawn.sidecar["map_coherence"] == pytest.approx(map_quality.coherence(after, clusters), abs=1e-4)
    nearest = map_quality.embedding_neighbours(steps.read_embeddings(ds, embedding_id))
    assert map_quality.neighbourhoods_kept(nearest, after) >= map_quality.neighbourhoods_kept(nearest, before) - 0.03

    # The clustering's outlines and its scope are drawn on the redrawn map.
    hull = read_default_labels(ds, redrawn.id)["hull"].iloc[0]
    assert set(hull) <= set(np.flatnonzero(clusters == 0)) and len(hull) >= 3
    labels = steps.label(ds, redrawn.id, LabelParams(levels=0))
    scope = steps.scope(ds, labels.id, ScopeParams())
    rows = pd.read_parquet(ds.file("scope", scope.id, ".parquet"))
    np.testing.assert_array_equal(rows[["x", "y"]].to_numpy(), after)
    assert scope.sidecar["umap_id"] == new_map.id
