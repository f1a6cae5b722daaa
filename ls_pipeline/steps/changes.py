"""A refreshed scope beside the one before it: which of its clusters are the earlier ones (they keep their colour
and any label a curator gave them, through a labels version of their own), and what changed (topics new, grown,
shrunk, vanished; rows added and removed), recorded in the new scope's sidecar.

The scope before is the newest scope with the same name (a recipe's scopes share one) made from another
clustering, read at the newest version of its line, so the curator's latest labels and removals count.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ls_pipeline.stages import changes as changes_stage
from ls_pipeline.steps.curate import latest, read_scope_rows
from ls_pipeline.steps.label import read_labels
from ls_pipeline.store.artifacts import Staging, produce
from ls_pipeline.store.datadir import Dataset
from ls_pipeline.store.files import local_copy
from ls_pipeline.store.fingerprint import fingerprint
from ls_pipeline.store.layout import DELETED, LABELS, LEVELS, TABLE
from ls_pipeline.store.sidecars import LabelsSidecar, ScopeSidecar

COLOUR = "colour"  # the labels table's column of each cluster's colour slot (the viewer's palette, in order)
_OWN = ("id", "fingerprint", "created_at", "wall_time_s", "versions", "cpu", "edit", "edited_from")


@dataclass(frozen=True)
class Carried:
    labels_id: str  # the labels the scope shows: the clustering's own, or a version with colours and curated labels
    labels: pd.DataFrame
    record: dict[str, Any]  # the scope sidecar's `changes` and `identity`


def previous_scope(ds: Dataset, label: str, cluster_id: str) -> ScopeSidecar | None:
    """The newest version of the newest scope named `label` made from another clustering; None for a first scope."""
    for found in reversed(list(ds.sidecars("scope"))):
        made_here = not found.foreign and not found.raw.get("edit_root")
        if made_here and found.label == label and found.cluster_id != cluster_id:
            return ds.sidecar("scope", latest(ds, found.id))
    return None


def carry_over(
    ds: Dataset, previous: ScopeSidecar, labels_id: str, cluster: np.ndarray, removed: np.ndarray
) -> Carried:
    """Match the new clustering (`cluster`, `removed` per row) to `previous`, carry colours and curated labels over,
    and report the changes."""
    labels = read_labels(ds, labels_id)
    old = _side(ds, previous)
    new = changes_stage.Side(cluster, removed, _noise(labels), _names(labels))
    matched = changes_stage.match_clusters(old, new)
    inherits = changes_stage.strong(matched)
    curated = _curated(ds, previous)
    old_labels = read_labels(ds, previous.cluster_labels_id).set_index("cluster")
    relabel = {new_c: old_c for new_c, old_c in inherits.items() if old_c in curated and old_c in old_labels.index}
    old_colour = _colours(old_labels)
    colours = changes_stage.colours(inherits, old_colour, labels["cluster"].astype(int).tolist())
    table = labels.assign(**{COLOUR: labels["cluster"].map(colours).astype(np.int64)})
    for new_c, old_c in relabel.items():
        at = table.index[table["cluster"] == new_c]
        table.loc[at, "label"] = old_labels.at[old_c, "label"]
        table.loc[at, "description"] = old_labels.at[old_c, "description"]
    carried_id = _labels_version(ds, labels_id, previous, table, relabel).id
    report = changes_stage.changes(old, changes_stage.Side(cluster, removed, new.noise, _names(table)), matched)
    identity = [
        {"cluster": c, **m, "strong": c in inherits, "label_inherited": c in relabel}
        for c, m in sorted(matched.items())
    ]
    record = {
        "changes": {"from": previous.id, **report},
        "identity": {"from": previous.id, "matches": identity, "curated_labels": sorted(relabel)},
    }
    return Carried(carried_id, table, record)


def _side(ds: Dataset, scope: ScopeSidecar) -> changes_stage.Side:
    rows = read_scope_rows(ds, scope.id).sort_values("ls_index")
    removed = rows[DELETED].to_numpy(bool) if DELETED in rows else np.zeros(len(rows), dtype=bool)
    labels = pd.DataFrame(scope.cluster_labels_lookup)
    return changes_stage.Side(rows["cluster"].to_numpy(), removed, _noise(labels), _names(labels))


def _noise(labels: pd.DataFrame) -> frozenset[int]:
    if "noise" not in labels:
        return frozenset()
    return frozenset(int(c) for c in labels.loc[labels["noise"].fillna(False).astype(bool), "cluster"])


def _names(labels: pd.DataFrame) -> dict[int, str]:
    return {int(c): str(label) for c, label in zip(labels["cluster"], labels["label"], strict=True)}


def _colours(labels: pd.DataFrame) -> dict[int, int]:
    if COLOUR not in labels:
        return {}
    return {int(c): int(slot) for c, slot in labels[COLOUR].items() if pd.notna(slot)}


def _curated(ds: Dataset, scope: ScopeSidecar) -> set[int]:
    """The clusters of `scope` whose label a curator gave: renamed in its line, or inherited from such a label."""
    renamed = {int(e["cluster"]) for e in scope.raw.get("edits", []) if e.get("op") == "rename" and "label" in e}
    return renamed | set(scope.raw.get("identity", {}).get("curated_labels", []))


def _labels_version(
    ds: Dataset, labels_id: str, previous: ScopeSidecar, table: pd.DataFrame, relabel: dict[int, int]
) -> Any:
    source: LabelsSidecar = ds.sidecar("labels", labels_id)
    carried = {"colours": table[COLOUR].tolist(), "labels": {str(k): v for k, v in relabel.items()}}
    inputs = {source.id: source.fingerprint, previous.id: previous.fingerprint}
    fp = fingerprint("carry-labels", changes_stage.CODE_VERSION, carried, inputs)
    levels = ds.file(LABELS, source.id, LEVELS)

    def build(staging: Staging) -> dict[str, Any]:
        table.to_parquet(staging.path(TABLE), index=False)
        if levels.is_file():
            with local_copy(levels) as stored:
                shutil.copyfile(stored, staging.path(LEVELS))
        own = {k: v for k, v in source.raw.items() if k not in _OWN}
        return {**own, "edited_from": source.id, "carried_from": previous.id, "inputs": inputs}

    return produce(ds, LABELS.name, fp, build, parent=source.cluster_id)
