"""The pure rules of a refresh's report and cluster identity, on clusterings made by hand (the real-data refresh is
tests/test_living_refresh.py): a topic that new rows joined grew, a split topic vanished into new ones, removed
rows count as removed, and only a strong match passes its colour on."""

from __future__ import annotations

import numpy as np

from ls_pipeline.stages import changes


def side(cluster: list[int], removed: list[int] = (), noise: int | None = None) -> changes.Side:  # type: ignore[assignment]
    flags = np.zeros(len(cluster), dtype=bool)
    flags[list(removed)] = True
    labels = {c: f"topic {c}" for c in set(cluster)}
    return changes.Side(np.array(cluster), flags, frozenset({noise} if noise is not None else ()), labels)


def test_grown_split_vanished_and_removed() -> None:
    # old: topic 0 (10 rows), topic 1 (10 rows), topic 2 (5 rows), noise 9 (2 rows)
    old = side([0] * 10 + [1] * 10 + [2] * 5 + [9] * 2, noise=9)
    # new: 0's rows and 6 new rows are cluster 5; 1 splits in two halves (3 and 4); 2's rows are removed; noise 9
    new = side([5] * 10 + [3] * 5 + [4] * 5 + [3] * 5 + [9] * 2 + [5] * 6, removed=range(20, 25), noise=9)
    matched = changes.match_clusters(old, new)
    assert matched == {5: {"from": 0, "shared": 10, "jaccard": 1.0}}
    report = changes.changes(old, new, matched)
    assert report["rows_added"] == 6 and report["rows_removed"] == 5
    by = {(t["status"], t["cluster"]): (t["before"], t["after"]) for t in report["topics"]}
    assert by == {("grown", 5): (10, 16), ("new", 3): (0, 5), ("new", 4): (0, 5), ("vanished", 1): (10, 0),
                  ("vanished", 2): (5, 0)}  # fmt: skip
    assert changes.summary(report)["topics_vanished"] == 2


def test_only_a_strong_match_keeps_its_colour_and_new_topics_take_free_slots() -> None:
    matched = {0: {"from": 2, "jaccard": 0.9}, 1: {"from": 0, "jaccard": 0.3}}
    inherits = changes.strong(matched)
    assert inherits == {0: 2}
    colours = changes.colours(inherits, {2: 7}, [0, 1, 2, 3])
    assert colours[0] == 7 and len(set(colours.values())) == 4 and 7 not in {colours[1], colours[2], colours[3]}
