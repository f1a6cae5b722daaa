"""Levels: topics above the clusters, labelled, saved next to the labels and carried into the scope."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ls_pipeline import steps
from ls_pipeline.stages.label import LabelParams, levels
from ls_pipeline.stages.scope import ScopeParams
from tests.labels_data import fine_copy


def test_level_sizes_shrink_to_a_short_list() -> None:
    assert levels.level_sizes(40, 2) == [6, 2]
    assert levels.level_sizes(100, 3) == [10, 3]
    assert levels.level_sizes(3, 1) == [] and levels.level_sizes(40, 0) == []


def test_clusters_that_say_the_same_thing_share_a_parent() -> None:
    """Six clusters around two directions: the three near each direction must end up under one parent."""
    rng = np.random.default_rng(0)
    axes = np.eye(8, dtype=np.float32)
    centres = [axes[0] + 0.2 * axes[k] for k in (2, 3, 4)] + [axes[1] + 0.2 * axes[k] for k in (5, 6, 7)]
    sizes = [50, 40, 30, 60, 20, 10]
    vectors = np.concatenate([c + 0.02 * rng.standard_normal((n, 8)) for c, n in zip(centres, sizes, strict=True)])
    cluster = np.repeat(np.arange(6), sizes)
    (mapping,) = levels.hierarchy(vectors.astype(np.float32), cluster, list(range(6)), levels=1)
    assert mapping[0] == mapping[1] == mapping[2] != mapping[3] == mapping[4] == mapping[5]
    assert mapping[0] == 0  # 120 rows against 90: topics are numbered largest first, by rows
    rows = levels.rows_at_level(np.append(cluster, 6), [mapping], 1)
    assert rows[-1] == -1 and (rows[:120] == mapping[0]).all()


@pytest.mark.numeric
def test_label_writes_parent_column_and_levels_table(built_data: dict[str, Any], tmp_path: Path) -> None:
    data, cluster_id = fine_copy(built_data, tmp_path / "data")
    ds = data.dataset("sample")
    artifact = steps.label(ds, cluster_id, LabelParams(levels=2))
    table = pd.read_parquet(ds.file("labels", artifact.id, ".parquet"))
    topics = pd.read_parquet(ds.file("labels", artifact.id, "-levels.parquet"))
    named = table[~table["noise"]]
    one, two = topics[topics["level"] == 1], topics[topics["level"] == 2]
    assert 2 <= len(one) < len(named) and artifact.sidecar["topic_levels"][0]["topics"] == len(one)
    assert artifact.sidecar["levels_from"] == "cluster tree"  # HDBSCAN's own tree, not merged centroids
    assert sorted(c for children in one["children"] for c in children) == sorted(named["cluster"])
    for _, topic in one.iterrows():
        members = named[named["cluster"].isin(topic["children"])]
        assert (members["parent"] == topic["cluster"]).all() and topic["count"] == members["count"].sum()
        assert topic["label"] and set(topic["hull"]) <= set(np.concatenate(members["indices"].tolist()))
    assert table.loc[table["noise"], "parent"].tolist() == [-1]
    assert one["label"].is_unique and two["label"].is_unique and set(one["labeler"]) == {"keywords"}
    texts = [t.lower() for t in steps.read_texts(ds)]
    for _, topic in pd.concat([one, two]).iterrows():  # grounded: every word of a topic's terms is in its rows
        inside = _topic_rows(table, one, topic)
        assert all(any(w in texts[i] for i in inside) for term in topic["terms"] for w in term.split())
    if len(two):
        assert set(one["parent"]) == set(two["cluster"]) and (two["parent"] == -1).all()
    scope = steps.scope(ds, artifact.id, ScopeParams(label="levels")).sidecar
    assert {c["cluster"]: c["parent"] for c in scope["cluster_labels_lookup"]} == dict(
        zip(table["cluster"], table["parent"], strict=True)
    )
    assert [t["label"] for t in scope["cluster_levels_lookup"]] == topics["label"].tolist()


def test_no_levels_means_no_parents(built_data: dict[str, Any], tmp_path: Path) -> None:
    data, cluster_id = fine_copy(built_data, tmp_path / "data")
    ds = data.dataset("sample")
    artifact = steps.label(ds, cluster_id, LabelParams(levels=0))
    assert (pd.read_parquet(ds.file("labels", artifact.id, ".parquet"))["parent"] == -1).all()
    assert pd.read_parquet(ds.file("labels", artifact.id, "-levels.parquet")).empty


def _topic_rows(table: pd.DataFrame, one: pd.DataFrame, topic: pd.Series) -> np.ndarray:
    """ls_index of a topic's rows: its clusters' (level 1) or its level-1 topics' clusters' (level 2)."""
    clusters = topic["children"] if topic["level"] == 1 else one[one["cluster"].isin(topic["children"])]["children"]
    ids = list(clusters) if topic["level"] == 1 else [c for kids in clusters for c in kids]
    return np.concatenate(table[table["cluster"].isin(ids)]["indices"].tolist())
