"""Outlines: the shape drawn around a cluster (or a topic) on the map, one that does not run through other clusters.

A convex hull is the simplest outline, but a cluster that curves, or lies in two islands, gets a hull spanning the
clusters between its parts (a thin triangle across half the map, holding another topic's points). So: the convex
hull where it holds next to none of the other clusters' points, else a concave hull (GEOS's, through shapely) that
follows the points more tightly, and no outline at all where even that would cross other clusters: a scattered
cluster reads better by its colour alone.

Outlining every group of a million rows one by one would scan all rows per group; Outlines sorts them once (by
group, and by x for the points an outline might hold), and where an outline's bounding box holds very many other
rows it tests a regular sample of them first: one that holds several times too many is refused on that. A group of
more than MAX_HULL_POINTS rows takes its concave hull from one member per cell of a grid over it (still real rows):
GEOS's triangulation of a hundred thousand points costs seconds per try, and the outline moves by at most a cell,
under a pixel at the map's scale.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ls_pipeline.stages.groups import Members

# The most other clusters' points an outline may hold, as a share of its own points.
FOREIGN_SHARE = 0.02
# shapely's concave_hull ratio (1: the convex hull; towards 0: tighter), the looser first.
CONCAVITY = (0.4, 0.2, 0.1)
MAX_HULL_POINTS = 20_000
SAMPLED_TEST = 50_000  # rows on a bounding box beyond which every k-th is tested first, about this many
SURE = 4  # ... and how many times the rows allowed inside an outline such a test must find to answer alone
_UNCOUNTED = np.iinfo(np.int64).min  # the group of a row that counts against no outline


class Outlines:
    """Outlines of the groups of `groups` (one id per row of `xy`; -1 for none). `counted`: the rows whose presence
    inside an outline counts against it (default: rows of any group >= 0; unclustered rows are no cluster for an
    outline to run through)."""

    def __init__(self, xy: np.ndarray, groups: np.ndarray, counted: np.ndarray | None = None) -> None:
        self.xy, self.groups = xy, np.asarray(groups)
        self.counted = self.groups >= 0 if counted is None else np.asarray(counted, dtype=bool)
        self.members = Members(self.groups)
        by_x = np.argsort(xy[:, 0], kind="stable") if len(xy) else np.zeros(0, dtype=np.int64)
        # in x order, so the rows on a bounding box are one slice, read without gathering a million rows
        self._xs, self._ys = xy[by_x, 0], xy[by_x, 1]
        self._counted_groups = np.where(self.counted, self.groups, _UNCOUNTED)[by_x]

    def outline(self, gid: int) -> list[int]:
        """Row numbers of an outline of group `gid`, counter-clockwise; [] for none."""
        members = self.members(gid)
        if len(members) < 3:
            return members.tolist()
        allowed = FOREIGN_SHARE * len(members)
        convex = convex_hull(self.xy, members)
        if not self._crosses(self.xy[convex], gid, allowed):
            return convex
        import shapely  # here: the CLI's and the viewer's start need not pay its import

        hull_rows = _thinned(self.xy, members)
        points = shapely.MultiPoint(self.xy[hull_rows].astype(np.float64))
        spots = zip(self.xy[hull_rows].astype(np.float64), hull_rows, strict=True)
        where = {(float(x), float(y)): int(i) for (x, y), i in spots}
        for ratio in CONCAVITY:
            shape = shapely.concave_hull(points, ratio=ratio)
            if not isinstance(shape, shapely.Polygon):
                break  # a line or a point: the members are collinear or on one spot
            ring = shapely.geometry.polygon.orient(shape, 1.0).exterior.coords[:-1]
            vertices = [where[(float(x), float(y))] for x, y in ring]
            if not self._crosses(self.xy[vertices], gid, allowed):
                return vertices
        return []

    def _crosses(self, polygon: np.ndarray, gid: int, allowed: float) -> bool:
        """Whether more than `allowed` counted rows of other groups lie inside `polygon` (vertices in order). Only
        the rows on its bounding box are tested; where they are many, every k-th of them first, and a polygon that
        holds several times too many of those is answered without testing the rest."""
        if len(polygon) < 3:
            return False
        low, high = polygon.min(axis=0), polygon.max(axis=0)
        span = slice(np.searchsorted(self._xs, low[0], side="left"), np.searchsorted(self._xs, high[0], side="right"))
        ys, owner = self._ys[span], self._counted_groups[span]
        near = np.flatnonzero((ys >= low[1]) & (ys <= high[1]) & (owner != _UNCOUNTED) & (owner != gid)) + span.start
        if len(near) <= allowed:
            return False
        import shapely

        shape = shapely.Polygon(polygon.astype(np.float64))
        step = len(near) // SAMPLED_TEST
        if step > 1 and self._inside(shape, near[::step]) * step > SURE * allowed:
            return True
        return self._inside(shape, near) > allowed

    def _inside(self, shape: Any, rows: np.ndarray) -> int:
        """How many of `rows` (positions in x order) lie inside `shape`."""
        import shapely

        xs, ys = self._xs[rows].astype(np.float64), self._ys[rows].astype(np.float64)
        return int(shapely.contains_xy(shape, xs, ys).sum())


def outline(xy: np.ndarray, groups: np.ndarray, gid: int, counted: np.ndarray | None = None) -> list[int]:
    """Row numbers of an outline of group `gid` (rows where `groups` == gid), counter-clockwise; [] for none.
    `counted`: as Outlines takes it. For many groups of one map, make one Outlines and ask it for each."""
    return Outlines(xy, groups, counted).outline(gid)


def convex_hull(xy: np.ndarray, members: np.ndarray) -> list[int]:
    """Row numbers of the members' convex hull vertices, counter-clockwise; the members themselves if degenerate."""
    if len(members) < 3:
        return members.tolist()
    from scipy.spatial import ConvexHull, QhullError  # imported here: it slows every ls-* command's start

    try:
        hull = ConvexHull(xy[members])
    except QhullError:  # all points on a line or on one spot
        return members[:3].tolist()
    return members[hull.vertices].tolist()


def _thinned(xy: np.ndarray, members: np.ndarray) -> np.ndarray:
    """The members, or for a group over MAX_HULL_POINTS rows the first member in each cell of a square grid over
    its bounding box, fine enough to keep about that many."""
    if len(members) <= MAX_HULL_POINTS:
        return members
    points = xy[members].astype(np.float64)
    low, span = points.min(axis=0), np.maximum(np.ptp(points, axis=0), 1e-12)
    side = int(np.sqrt(MAX_HULL_POINTS))
    cell = np.minimum((points - low) / span * side, side - 1).astype(np.int64)
    _, first = np.unique(cell[:, 0] * side + cell[:, 1], return_index=True)
    return members[np.sort(first)]
