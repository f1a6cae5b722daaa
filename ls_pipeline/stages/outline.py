"""Outlines: the shape drawn around a cluster (or a topic) on the map, one that does not run through other clusters.

A convex hull is the simplest outline, but a cluster that curves, or lies in two islands, gets a hull spanning the
clusters between its parts (a thin triangle across half the map, holding another topic's points). So: the convex
hull where it holds next to none of the other clusters' points, else a concave hull (GEOS's, through shapely) that
follows the points more tightly, and no outline at all where even that would cross other clusters: a scattered
cluster reads better by its colour alone.
"""

from __future__ import annotations

import numpy as np

# The most other clusters' points an outline may hold, as a share of its own points.
FOREIGN_SHARE = 0.02
# shapely's concave_hull ratio (1: the convex hull; towards 0: tighter), the looser first.
CONCAVITY = (0.4, 0.2, 0.1)


def outline(xy: np.ndarray, groups: np.ndarray, gid: int, counted: np.ndarray | None = None) -> list[int]:
    """Row numbers of an outline of group `gid` (rows where `groups` == gid), counter-clockwise; [] for none.
    `counted`: the rows whose presence inside an outline counts against it (default: rows of any other group >= 0;
    unclustered rows are no cluster for an outline to run through)."""
    members = np.flatnonzero(groups == gid)
    if len(members) < 3:
        return members.tolist()
    others = (groups != gid) & (groups >= 0) if counted is None else counted & (groups != gid)
    foreign = xy[others]
    allowed = FOREIGN_SHARE * len(members)
    convex = convex_hull(xy, members)
    if _inside(xy[convex], foreign) <= allowed:
        return convex
    import shapely  # here: the CLI's and the viewer's start need not pay its import

    points = shapely.MultiPoint(xy[members].astype(np.float64))
    where = {(float(x), float(y)): int(i) for (x, y), i in zip(xy[members].astype(np.float64), members, strict=True)}
    for ratio in CONCAVITY:
        shape = shapely.concave_hull(points, ratio=ratio)
        if not isinstance(shape, shapely.Polygon):
            break  # a line or a point: the members are collinear or on one spot
        ring = shapely.geometry.polygon.orient(shape, 1.0).exterior.coords[:-1]
        vertices = [where[(float(x), float(y))] for x, y in ring]
        if _inside(xy[vertices], foreign) <= allowed:
            return vertices
    return []


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


def _inside(polygon: np.ndarray, points: np.ndarray) -> int:
    """How many of `points` lie inside `polygon` (vertices in order); points on its bounding box only are tested."""
    if len(polygon) < 3 or not len(points):
        return 0
    low, high = polygon.min(axis=0), polygon.max(axis=0)
    near = points[((points >= low) & (points <= high)).all(axis=1)]
    if not len(near):
        return 0
    import shapely

    return int(shapely.contains_xy(shapely.Polygon(polygon.astype(np.float64)), near[:, 0], near[:, 1]).sum())
