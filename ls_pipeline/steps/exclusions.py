"""The dataset's exclusion list through the data directory: rows every stage after embedding leaves out on its next
run (not fitted by UMAP, not clustered, not labelled; placed on the map and marked, keeping their ls_index).

Each change publishes a new version (exclusions/exclusions-NNN.parquet, one ls_index a row), never overwriting:
its sidecar names the version before (`edited_from`), what made it (`source`: rows, tag, filter, duplicates,
restore, undo) and `undo_to`, the version an undo restores. The newest version is the one in effect. A stage's
fingerprint holds the rows' hash (not the version id), so an undo back to earlier rows reuses the earlier results.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ls_pipeline.errors import NotFound, UserError
from ls_pipeline.stages import duplicates as duplicates_stage
from ls_pipeline.steps.duplicates import newest, read_groups
from ls_pipeline.store import tags
from ls_pipeline.store.artifacts import Artifact, Staging, produce
from ls_pipeline.store.datadir import Dataset
from ls_pipeline.store.files import read_stored_table
from ls_pipeline.store.fingerprint import fingerprint
from ls_pipeline.store.layout import DELETED, EXCLUSIONS, SCOPE, TABLE
from ls_pipeline.store.sidecars import ExclusionsSidecar

CODE_VERSION = "1"
SOURCES = ("rows", "filter", "removed", "tag", "duplicates", "restore", "undo")


def current(ds: Dataset) -> ExclusionsSidecar | None:
    """The version in effect (the newest), or None when nothing was ever excluded."""
    ids = ds.ids(EXCLUSIONS.name)
    return ds.sidecar(EXCLUSIONS.name, ids[-1]) if ids else None


def read_excluded(ds: Dataset, version: str | None = None) -> np.ndarray:
    """The excluded ls_index values (sorted) of a version, by default the one in effect; empty when none."""
    if version is None:
        found = current(ds)
        if found is None:
            return np.zeros(0, dtype=np.int64)
        version = found.id
    ds.sidecar(EXCLUSIONS.name, version)
    table = read_stored_table(ds.file(EXCLUSIONS, version, TABLE))
    return np.sort(table["ls_index"].to_numpy(np.int64))


def excluded_mask(ds: Dataset, rows: int) -> np.ndarray:
    """A boolean per row (rows past the list's end, added since, are kept)."""
    mask = np.zeros(rows, dtype=bool)
    excluded = read_excluded(ds)
    mask[excluded[excluded < rows]] = True
    return mask


def rows_hash(excluded: np.ndarray) -> str:
    """What a stage's fingerprint holds: the excluded rows themselves."""
    return hashlib.sha256(np.asarray(excluded, dtype=np.int64).tobytes()).hexdigest()[:16]


def exclude(ds: Dataset, rows: Iterable[int], source: str = "rows", note: str = "") -> Artifact:
    """A new version with `rows` added to the list in effect."""
    picked = _checked(ds, rows)
    return _version(ds, np.union1d(read_excluded(ds), picked), source, {"added": len(picked), "note": note})


def restore(ds: Dataset, rows: Iterable[int]) -> Artifact:
    """A new version without `rows` (they join the next fit again)."""
    picked = _checked(ds, rows)
    return _version(ds, np.setdiff1d(read_excluded(ds), picked), "restore", {"restored": len(picked)})


def exclude_tag(ds: Dataset, tag: str) -> Artifact:
    rows = tags.read(ds, tag)
    if rows is None:
        raise NotFound(f"dataset {ds.name!r} has no tag {tag!r} (tags: {', '.join(ds.tags()) or 'none'})")
    return exclude(ds, rows, "tag", note=tag)


def exclude_removed(ds: Dataset, scope_id: str) -> Artifact:
    """The rows a curator removed in a scope (its version as named), for every map of the dataset from now on."""
    ds.sidecar(SCOPE.name, scope_id)
    rows = read_stored_table(ds.file(SCOPE, scope_id, TABLE))  # (steps/curate reads scopes too, but imports umap)
    removed = rows.loc[rows[DELETED], "ls_index"].tolist() if DELETED in rows else []
    if not removed:
        raise UserError(f"scope {scope_id!r} has no removed rows; remove rows in it first, or exclude rows directly")
    return exclude(ds, removed, "removed", note=scope_id)


def exclude_duplicates(ds: Dataset, duplicates_id: str | None = None) -> Artifact:
    """Keep one row of each near-duplicate group (its first), exclude the others."""
    if duplicates_id is None:
        found = newest(ds)
        if found is None:
            raise UserError(f"dataset {ds.name!r} has no near-duplicate groups yet; run ls-duplicates {ds.name} first")
        duplicates_id = found.id
    extra = duplicates_stage.keep_one_of_each(read_groups(ds, duplicates_id))
    return exclude(ds, extra.tolist(), "duplicates", note=duplicates_id)


def undo(ds: Dataset) -> Artifact:
    """A new version with the rows of the one before the last change (undo again goes further back)."""
    last = current(ds)
    if last is None or last.undo_to is None:
        raise NotFound(f"dataset {ds.name!r} has no exclusion change to undo")
    rows = read_excluded(ds, last.undo_to) if last.undo_to else np.zeros(0, dtype=np.int64)
    target = ds.sidecar(EXCLUSIONS.name, last.undo_to) if last.undo_to else None
    fields = {"undoes": last.id, "restores": last.undo_to}
    return _version(ds, rows, "undo", fields, undo_to=target.undo_to if target else None)


def change(ds: Dataset, body: Any, max_rows: int) -> Artifact:
    """One change from JSON (the explorer's): {"rows": [...], "source": "rows"|"filter"}, {"removed_in": SCOPE}
    (the rows a curator removed there), {"tag": NAME}, {"duplicates": true} (keep one row of each group) or
    {"restore": [...]}; UserError before anything is written."""
    kinds = ("rows", "removed_in", "tag", "duplicates", "restore")
    if not isinstance(body, dict) or not body or set(body) - {*kinds, "source"}:
        raise UserError(f"an exclusion change is a JSON object with one of {', '.join(kinds)}")
    given = [k for k in kinds if k in body]
    if len(given) != 1 or ("source" in body and given != ["rows"]):
        raise UserError(f'give exactly one of {", ".join(kinds)} ("rows" may come with a "source")')
    if "removed_in" in body:
        if not isinstance(body["removed_in"], str):
            raise UserError("removed_in must be a scope's id")
        return exclude_removed(ds, body["removed_in"])
    if "tag" in body:
        if not isinstance(body["tag"], str):
            raise UserError("tag must be a tag's name")
        return exclude_tag(ds, body["tag"])
    if "duplicates" in body:
        if body["duplicates"] is not True:
            raise UserError('"duplicates" takes true')
        return exclude_duplicates(ds)
    rows = body.get("rows", body.get("restore"))
    if not isinstance(rows, list) or not rows or len(rows) > max_rows:
        raise UserError(f"rows must be a non-empty list of at most {max_rows:,} ls_index integers")
    if "restore" in body:
        return restore(ds, rows)
    source = body.get("source", "rows")
    if source not in ("rows", "filter"):
        raise UserError('source must be "rows" (picked rows) or "filter" (the rows a filter kept)')
    return exclude(ds, rows, source)


def _checked(ds: Dataset, rows: Iterable[int]) -> np.ndarray:
    values = list(rows)
    if any(isinstance(v, bool) or not isinstance(v, int | np.integer) for v in values):
        raise UserError("rows to exclude must be ls_index integers")
    length = int(ds.meta()["length"])
    outside = [int(v) for v in values if not 0 <= v < length]
    if outside:
        raise UserError(f"ls_index {outside[0]} is not a row of {ds.name!r} (0..{length - 1})")
    return np.unique(np.asarray(values, dtype=np.int64))


def _version(
    ds: Dataset, excluded: np.ndarray, source: str, change: dict[str, Any], undo_to: str | None | bool = False
) -> Artifact:
    """Publish the list as the next version; the version before it is what an undo restores (unless given)."""
    parent = current(ds)
    parent_id = parent.id if parent else ""
    inputs = {parent.id: parent.fingerprint} if parent else {}
    fields = {"source": source, "rows": rows_hash(excluded), "from": parent_id}
    fp = fingerprint("exclusions", CODE_VERSION, fields, inputs)

    def build(staging: Staging) -> dict[str, Any]:
        pd.DataFrame({"ls_index": excluded.astype(np.int64)}).to_parquet(staging.path(TABLE), index=False)
        return {
            "dataset": ds.name,
            "source": source,
            "change": change,
            "excluded": len(excluded),
            "rows": int(ds.meta()["length"]),
            "rows_hash": rows_hash(excluded),
            "edited_from": parent_id or None,
            "undo_to": parent_id if undo_to is False else undo_to,
            "inputs": inputs,
        }

    return produce(ds, EXCLUSIONS.name, fp, build)
