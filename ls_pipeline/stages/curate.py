"""Curation edits of a scope, as pure functions: rename a cluster (and its description), move rows to another
cluster, merge two clusters, mark rows removed or bring them back.

An edit takes the scope's rows (x, y, cluster, raw_cluster, label, ls_index and Latent Scope's `deleted`) and its
labels table (one row per cluster) and returns new ones; nothing here reads or writes a file. Removed rows stay
rows (every ls_index stays valid): only their `deleted` flag changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ls_pipeline.errors import UserError
from ls_pipeline.stages.outline import Outlines
from ls_pipeline.store.layout import DELETED

CODE_VERSION = "1"
MAX_LABEL_CHARS = 200
MAX_DESCRIPTION_CHARS = 2000
OPS = ("rename", "move", "merge", "remove", "restore")
# The ops that change which cluster a row is in or what a cluster is called: they need a new labels artifact.
LABEL_OPS = ("rename", "move", "merge")


@dataclass(frozen=True)
class Edit:
    op: str
    cluster: int | None = None  # rename: the cluster; merge: the one that disappears
    to: int | None = None  # move and merge: the cluster that receives the rows
    rows: tuple[int, ...] = ()  # move, remove, restore
    label: str | None = None
    description: str | None = None

    def record(self) -> dict[str, Any]:
        """The edit as a sidecar records it (only the fields its op uses)."""
        out: dict[str, Any] = {"op": self.op}
        for name in ("cluster", "to", "label", "description"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.op in ("move", "remove", "restore"):
            out["rows"] = list(self.rows)
        return out


@dataclass(frozen=True)
class Curated:
    rows: pd.DataFrame
    labels: pd.DataFrame
    changed: dict[str, Any] = field(default_factory=dict)  # what the edit actually changed, for the sidecar


def parse_edit(raw: Any, max_rows: int) -> Edit:
    """An edit from JSON ({"op": "move", "rows": [...], "to": 3} ...); UserError naming what is wrong."""
    if not isinstance(raw, dict) or raw.get("op") not in OPS:
        raise UserError(f"an edit is a JSON object with op one of {', '.join(OPS)}")
    op = raw["op"]
    allowed = {
        "rename": {"cluster", "label", "description"},
        "move": {"rows", "to"},
        "merge": {"cluster", "to"},
        "remove": {"rows"},
        "restore": {"rows"},
    }[op] | {"op"}
    extra = set(raw) - allowed
    if extra:
        raise UserError(f"edit {op} takes {', '.join(sorted(allowed - {'op'}))}, not {', '.join(sorted(extra))}")
    rows = _rows(raw.get("rows"), max_rows) if op in ("move", "remove", "restore") else ()
    edit = Edit(
        op,
        cluster=_int(raw, "cluster") if op in ("rename", "merge") else None,
        to=_int(raw, "to") if op in ("move", "merge") else None,
        rows=rows,
        label=_text(raw.get("label"), "label", MAX_LABEL_CHARS) if "label" in raw else None,
        description=_text(raw.get("description"), "description", MAX_DESCRIPTION_CHARS, empty=True)
        if "description" in raw
        else None,
    )
    if op == "rename" and edit.label is None and edit.description is None:
        raise UserError("a rename needs a label, a description or both")
    if op == "merge" and edit.cluster == edit.to:
        raise UserError(f"cannot merge cluster {edit.cluster} into itself")
    return edit


def apply(edit: Edit, rows: pd.DataFrame, labels: pd.DataFrame, xy: np.ndarray) -> Curated:
    """The scope rows and labels after the edit; xy (the projection) gives moved clusters their new hulls."""
    rows = with_deleted(rows)
    known = set(labels["cluster"].astype(int))
    for cid in (edit.cluster, edit.to):
        if cid is not None and cid not in known:
            raise UserError(f"the scope has no cluster {cid} (clusters: {min(known)}..{max(known)})")
    outside = [i for i in edit.rows if not 0 <= i < len(rows)]
    if outside:
        raise UserError(f"ls_index {outside[0]} is not a row of the scope (0..{len(rows) - 1})")
    if edit.op == "rename":
        return _rename(edit, rows, labels)
    if edit.op in ("remove", "restore"):
        return _flag(edit, rows, labels)
    moving = list(edit.rows) if edit.op == "move" else np.flatnonzero(rows["cluster"] == edit.cluster).tolist()
    return _move(edit, moving, rows, labels, xy)


def with_deleted(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows with a `deleted` column (scopes made before any removal have none)."""
    if DELETED in rows:
        return rows
    return rows.assign(**{DELETED: np.zeros(len(rows), dtype=bool)})


def _rename(edit: Edit, rows: pd.DataFrame, labels: pd.DataFrame) -> Curated:
    labels = labels.copy()
    at = labels.index[labels["cluster"] == edit.cluster][0]
    changed: dict[str, Any] = {"cluster": edit.cluster}
    if edit.label is not None:
        changed["label_before"] = str(labels.at[at, "label"])
        labels.at[at, "label"] = edit.label
        rows = rows.assign(label=np.where(rows["cluster"] == edit.cluster, edit.label, rows["label"]))
    if edit.description is not None:
        changed["description_before"] = str(labels.at[at, "description"])
        labels.at[at, "description"] = edit.description
    return Curated(rows, labels, changed)


def _flag(edit: Edit, rows: pd.DataFrame, labels: pd.DataFrame) -> Curated:
    flags = rows[DELETED].to_numpy(dtype=bool).copy()
    target = edit.op == "remove"
    picked = np.asarray(edit.rows, dtype=np.int64)
    changed = sorted(int(i) for i in picked[flags[picked] != target]) if len(picked) else []
    flags[picked] = target
    return Curated(rows.assign(**{DELETED: flags}), labels, {"rows_changed": changed})


def _move(edit: Edit, moving: list[int], rows: pd.DataFrame, labels: pd.DataFrame, xy: np.ndarray) -> Curated:
    cluster = rows["cluster"].to_numpy().copy()
    assert edit.to is not None
    before = sorted({int(c) for c in cluster[moving]} - {edit.to})
    cluster[moving] = edit.to
    to_label = labels.loc[labels["cluster"] == edit.to, "label"].iloc[0]
    label = rows["label"].to_numpy(dtype=object).copy()
    label[moving] = to_label
    rows = rows.assign(cluster=cluster.astype(rows["cluster"].dtype), label=label)
    labels = labels.copy()
    if edit.op == "merge":
        labels = labels[labels["cluster"] != edit.cluster].reset_index(drop=True)
    outlines = Outlines(xy, cluster)
    for at in labels.index[labels["cluster"].isin([edit.to, *before])]:
        members = outlines.members(int(labels.at[at, "cluster"]))
        labels.at[at, "count"] = len(members)
        labels.at[at, "indices"] = members.tolist()
        if "hull" in labels and not bool(labels.at[at, "noise"] if "noise" in labels else False):
            labels.at[at, "hull"] = outlines.outline(int(labels.at[at, "cluster"])) if len(members) else []
    return Curated(rows, labels, {"from_clusters": before, "rows_moved": len(moving)})


def _int(raw: dict[str, Any], key: str) -> int:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserError(f"{key} must be a cluster id (an integer), not {value!r:.40}")
    return value


def _rows(value: Any, max_rows: int) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise UserError("rows must be a non-empty list of ls_index integers")
    if len(value) > max_rows:
        raise UserError(f"an edit may name at most {max_rows:,} rows")
    if any(isinstance(v, bool) or not isinstance(v, int) for v in value):
        raise UserError("rows must be ls_index integers")
    return tuple(sorted(set(value)))


def _text(value: Any, what: str, limit: int, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise UserError(f"the {what} must be a {'' if empty else 'non-empty '}string")
    if len(value) > limit or "\x00" in value:
        raise UserError(f"the {what} must be at most {limit} characters, without NUL")
    return value.strip()
