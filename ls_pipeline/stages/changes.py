"""What a refresh changed, as pure functions over two scopes' rows (same ls_index, the earlier scope possibly shorter):
which clusters of the new scope are the old ones (their identity), which topics are new, grew, shrank or vanished,
and how many rows came and went.

A new cluster is an old one (the same topic) when it holds the majority of the old cluster's shared rows (rows both
scopes show) and the old cluster is the largest source of its own shared rows: the compare view's overlap, read
both ways. Rows new to the map are not shared, so a topic that new rows joined is still matched, and grew.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

CODE_VERSION = "1"
# A matched topic counts as grown or shrunk when its live rows changed by more than this share (and CHANGE_ROWS).
CHANGE_SHARE = 0.1
CHANGE_ROWS = 2


@dataclass(frozen=True)
class Side:
    """One scope's rows: the cluster of each row (ls_index order), its removed flag, the noise clusters, labels."""

    cluster: np.ndarray
    removed: np.ndarray
    noise: frozenset[int]
    labels: dict[int, str]

    def live(self) -> np.ndarray:
        return ~self.removed & ~np.isin(self.cluster, list(self.noise))


def match_clusters(old: Side, new: Side) -> dict[int, dict[str, Any]]:
    """For each new cluster that is an old one: {"from": old cluster, "shared": rows, "jaccard": over shared rows}."""
    n = min(len(old.cluster), len(new.cluster))
    both = old.live()[:n] & new.live()[:n]
    a, b = old.cluster[:n][both].astype(np.int64), new.cluster[:n][both].astype(np.int64)
    if not len(a):
        return {}
    pairs, shared = np.unique(np.stack([a, b]), axis=1, return_counts=True)
    size_a = dict(zip(*np.unique(a, return_counts=True), strict=True))
    size_b = dict(zip(*np.unique(b, return_counts=True), strict=True))
    best_of_old: dict[int, tuple[int, int]] = {}  # old -> (shared, new)
    best_of_new: dict[int, tuple[int, int]] = {}  # new -> (shared, old)
    for (ca, cb), count in zip(pairs.T.tolist(), shared.tolist(), strict=True):
        best_of_old[ca] = max(best_of_old.get(ca, (0, -1)), (count, cb))
        best_of_new[cb] = max(best_of_new.get(cb, (0, -1)), (count, ca))
    matched = {}
    for ca, (count, cb) in best_of_old.items():
        if best_of_new[cb][1] != ca or 2 * count <= size_a[ca]:
            continue  # the old cluster's rows are split, or its best new cluster is mostly another old one
        matched[cb] = {"from": ca, "shared": count, "jaccard": round(count / (size_a[ca] + size_b[cb] - count), 4)}
    return matched


def changes(old: Side, new: Side, matched: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """rows_added, rows_removed and a topic per new cluster (new, grown, shrunk or same) and per old cluster no new
    one matched (vanished): {cluster, label, status, before, after}; `cluster` is the new scope's id, a vanished
    topic's the old scope's."""
    n_old, n_new = len(old.cluster), len(new.cluster)
    shown_old = np.zeros(max(n_old, n_new), dtype=bool)
    shown_new = np.zeros(max(n_old, n_new), dtype=bool)
    shown_old[:n_old], shown_new[:n_new] = ~old.removed, ~new.removed
    old_live, new_live = old.live(), new.live()
    before = _counts(old.cluster[old_live])
    after = _counts(new.cluster[new_live])
    topics = []
    for cluster in sorted(after):
        match = matched.get(cluster)
        was = before.get(match["from"], 0) if match else 0
        topics.append(_topic(cluster, new.labels.get(cluster, ""), was, after[cluster], match is not None))
    taken = {m["from"] for m in matched.values()}
    for cluster in sorted(set(before) - taken):
        topics.append({"cluster": cluster, "label": old.labels.get(cluster, ""), "status": "vanished",
                       "before": before[cluster], "after": 0})  # fmt: skip
    return {
        "rows_added": int((shown_new & ~shown_old).sum()),
        "rows_removed": int((shown_old & ~shown_new).sum()),
        "topics": topics,
    }


def _topic(cluster: int, label: str, before: int, after: int, matched: bool) -> dict[str, Any]:
    if not matched:
        status = "new"
    elif abs(after - before) <= max(CHANGE_ROWS, CHANGE_SHARE * before):
        status = "same"
    else:
        status = "grown" if after > before else "shrunk"
    return {"cluster": cluster, "label": label, "status": status, "before": before, "after": after}


def _counts(cluster: np.ndarray) -> dict[int, int]:
    ids, counts = np.unique(cluster.astype(np.int64), return_counts=True)
    return dict(zip(ids.tolist(), counts.tolist(), strict=True))


def summary(report: dict[str, Any]) -> dict[str, int]:
    """How many topics of each status, and the rows added and removed (for Dagster's metadata)."""
    out = {"rows_added": report["rows_added"], "rows_removed": report["rows_removed"]}
    for status in ("new", "grown", "shrunk", "vanished", "same"):
        out[f"topics_{status}"] = sum(t["status"] == status for t in report["topics"])
    return out


# A match at or above this Jaccard (over shared rows) keeps the old cluster's colour and any label a curator gave it.
STRONG = 0.5


def strong(matched: dict[int, dict[str, Any]]) -> dict[int, int]:
    """New cluster -> the old cluster whose colour and curated label it inherits."""
    return {new: m["from"] for new, m in matched.items() if m["jaccard"] >= STRONG}


def colours(inherits: dict[int, int], old_colour: dict[int, int], clusters: list[int]) -> dict[int, int]:
    """A colour slot per new cluster: an inheriting cluster keeps its old cluster's slot, the others take the lowest
    slots no inheriting cluster holds (so a new topic never wears an old topic's colour)."""
    out = {new: old_colour.get(old, old) for new, old in inherits.items()}
    used, slot = set(out.values()), 0
    for cluster in sorted(clusters):
        if cluster in out:
            continue
        while slot in used:
            slot += 1
        out[cluster] = slot
        used.add(slot)
    return out
