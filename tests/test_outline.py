"""Cluster outlines never run through other clusters: convex where that holds, concave around a curved cluster,
none for a cluster scattered among others."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from ls_pipeline.stages import outline as outline_module
from ls_pipeline.stages.outline import Outlines, convex_hull, outline


def _crescent_around_a_blob() -> tuple[np.ndarray, np.ndarray]:
    """Cluster 0: a ring's upper three quarters (a thick arc); cluster 1: a blob in the ring's middle; cluster 2: a
    compact blob far off; rows of -1 (unclustered) scattered inside the arc's span too."""
    rng = np.random.default_rng(3)
    angle = rng.uniform(-0.25 * np.pi, 1.25 * np.pi, 400)
    radius = rng.uniform(0.8, 1.0, 400)
    arc = np.c_[radius * np.cos(angle), radius * np.sin(angle)]
    blob = rng.normal(0, 0.12, (150, 2))
    far = rng.normal(0, 0.1, (100, 2)) + [4, 4]
    loose = rng.uniform(-0.5, 0.5, (30, 2))
    xy = np.vstack([arc, blob, far, loose]).astype(np.float32)
    groups = np.repeat([0, 1, 2, -1], [400, 150, 100, 30])
    return xy, groups


def _holds(xy: np.ndarray, vertices: list[int], rows: np.ndarray) -> int:
    polygon = shapely.Polygon(xy[vertices].astype(np.float64))
    return int(shapely.contains_xy(polygon, xy[rows, 0], xy[rows, 1]).sum())


def test_a_curved_cluster_gets_an_outline_that_leaves_the_cluster_inside_it_out() -> None:
    xy, groups = _crescent_around_a_blob()
    arc = np.flatnonzero(groups == 0)
    assert _holds(xy, convex_hull(xy, arc), np.flatnonzero(groups == 1)) > 100  # the convex hull swallows the blob
    drawn = outline(xy, groups, 0)
    assert len(drawn) >= 3 and set(drawn) <= set(arc)
    assert _holds(xy, drawn, np.flatnonzero(groups == 1)) <= 0.02 * len(arc)
    assert _holds(xy, drawn, arc) >= 0.5 * len(arc)  # it still outlines the arc, not a sliver of it


def test_a_compact_cluster_keeps_its_convex_hull_and_unclustered_rows_do_not_count() -> None:
    xy, groups = _crescent_around_a_blob()
    assert outline(xy, groups, 2) == convex_hull(xy, np.flatnonzero(groups == 2))
    assert outline(xy, groups, 1) == convex_hull(xy, np.flatnonzero(groups == 1))  # loose -1 rows lie inside it


def test_a_cluster_scattered_among_others_gets_no_outline() -> None:
    rng = np.random.default_rng(4)
    xy = rng.uniform(-1, 1, (600, 2)).astype(np.float32)
    groups = rng.integers(0, 3, 600)
    assert outline(xy, groups, 0) == []
    assert outline(xy, groups, 0, counted=np.zeros(600, dtype=bool)) == convex_hull(xy, np.flatnonzero(groups == 0))


def test_the_shortcuts_for_big_groups_keep_the_same_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the thresholds lowered so these few hundred rows take them: the arc's concave hull from one member per grid
    cell, bounding boxes tested by sample first. Same rules: real member rows, other clusters kept out, no outline
    for a scattered cluster; and one Outlines answers as outline() does for each group."""
    monkeypatch.setattr(outline_module, "MAX_HULL_POINTS", 100)
    monkeypatch.setattr(outline_module, "SAMPLED_TEST", 20)
    xy, groups = _crescent_around_a_blob()
    arc = np.flatnonzero(groups == 0)
    drawn = outline(xy, groups, 0)
    assert len(drawn) >= 3 and set(drawn) <= set(arc)
    assert _holds(xy, drawn, np.flatnonzero(groups == 1)) <= 0.02 * len(arc)
    assert _holds(xy, drawn, arc) >= 0.5 * len(arc)
    every = Outlines(xy, groups)
    assert [every.outline(g) for g in (0, 1, 2)] == [outline(xy, groups, g) for g in (0, 1, 2)]
    rng = np.random.default_rng(4)
    scattered = rng.uniform(-1, 1, (600, 2)).astype(np.float32)
    assert outline(scattered, rng.integers(0, 3, 600), 0) == []
