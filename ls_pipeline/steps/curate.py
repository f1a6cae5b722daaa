"""Curation edits through the data directory: every edit publishes a new scope version (a new scope id, the next
scopes-NNN, as Latent Scope numbers scopes) and, when it renames or moves, a new labels artifact; nothing is ever
overwritten, so every earlier version stays on disk and open in the viewer.

A version's sidecar names the version it was `edited_from`, the first version of its line (`edit_root`), the
`edit` that made it, every edit in effect (`edits`), and `undo_to`: the version whose content an undo restores.
Undo itself is a new version, a copy of that one.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ls_pipeline.errors import NotFound, UserError
from ls_pipeline.stages import curate as curate_stage
from ls_pipeline.stages import scope as scope_stage
from ls_pipeline.steps.label import read_labels, read_levels
from ls_pipeline.steps.umap import read_umap
from ls_pipeline.store.artifacts import Artifact, Staging, produce
from ls_pipeline.store.datadir import Dataset
from ls_pipeline.store.files import local_copy, read_stored_table
from ls_pipeline.store.fingerprint import fingerprint
from ls_pipeline.store.layout import DELETED, LABELS, LEVELS, SCOPE, TABLE
from ls_pipeline.store.sidecars import ScopeSidecar

# Keys of a scope sidecar that belong to one version only: a new version gets its own.
_OWN = ("id", "fingerprint", "created_at", "wall_time_s", "versions", "cpu", "edit", "edited_from", "undoes")


@dataclass(frozen=True)
class Version:
    scope: Artifact
    labels_id: str  # the labels artifact the version shows (new for a rename, move or merge)


def read_scope_rows(ds: Dataset, scope_id: str) -> pd.DataFrame:
    return read_stored_table(ds.file(SCOPE, scope_id, TABLE))


def edit(ds: Dataset, scope_id: str, raw: Any, max_rows: int) -> Version:
    """Apply one edit (JSON, see stages/curate.parse_edit) to a scope; UserError before anything is written."""
    parent: ScopeSidecar = ds.sidecar("scope", scope_id)
    if parent.foreign:  # its labels and rows are Latent Scope's files, which we read but never version
        raise UserError(
            f"scope {scope_id!r} was made by Latent Scope: edit a scope made here (ls-run {ds.name} adds one beside "
            "it), or curate this one in Latent Scope; tags work on both"
        )
    change = curate_stage.parse_edit(raw, max_rows)
    labels = read_labels(ds, parent.cluster_labels_id)
    curated = curate_stage.apply(change, read_scope_rows(ds, scope_id), labels, read_umap(ds, parent.umap_id))
    record = {**change.record(), **curated.changed}
    labels_id = parent.cluster_labels_id
    if change.op in curate_stage.LABEL_OPS:
        labels_id = _labels_version(ds, parent, curated.labels, record).id
    history = [*parent.raw.get("edits", []), record]
    fields = {"edit": record, "edits": history, "undo_to": scope_id}
    return Version(_scope_version(ds, parent, labels_id, curated.rows, fields), labels_id)


def undo(ds: Dataset, scope_id: str) -> Version:
    """A new version with the content of the one before the scope's last edit (so undo again goes further back)."""
    current: ScopeSidecar = ds.sidecar("scope", scope_id)
    target_id = current.raw.get("undo_to")
    if not target_id:
        raise NotFound(f"scope {scope_id!r} has no edit to undo")
    target: ScopeSidecar = ds.sidecar("scope", target_id)
    fields = {
        "edit": {"op": "undo", "undoes": current.raw.get("edit"), "restores": target_id},
        "edits": list(target.raw.get("edits", [])),
        "undo_to": target.raw.get("undo_to"),
    }
    rows = read_scope_rows(ds, target_id)
    return Version(_scope_version(ds, current, target.cluster_labels_id, rows, fields), target.cluster_labels_id)


def line_of(ds: Dataset, scope_id: str) -> list[str]:
    """Every version of the scope's line (its first version and all edits of it), oldest first."""
    root = ds.sidecar("scope", scope_id).raw.get("edit_root") or scope_id
    return [s.id for s in ds.sidecars("scope") if (s.raw.get("edit_root") or s.id) == root]


def latest(ds: Dataset, scope_id: str) -> str:
    """The newest version of the scope's line: what an export of curated data reads."""
    return line_of(ds, scope_id)[-1]


def _labels_version(ds: Dataset, parent: ScopeSidecar, table: pd.DataFrame, record: dict[str, Any]) -> Artifact:
    source = ds.sidecar("labels", parent.cluster_labels_id)
    fp = fingerprint("curate-labels", curate_stage.CODE_VERSION, record, {source.id: source.fingerprint})
    levels = ds.file(LABELS, source.id, LEVELS)

    def build(staging: Staging) -> dict[str, Any]:
        table.to_parquet(staging.path(TABLE), index=False)
        if levels.is_file():  # the topics above still name these clusters
            with local_copy(levels) as stored:
                shutil.copyfile(stored, staging.path(LEVELS))
        own = {k: v for k, v in source.raw.items() if k not in _OWN}
        edits = [*source.raw.get("edits", []), record]
        return {
            **own,
            "edited_from": source.id,
            "edit": record,
            "edits": edits,
            "inputs": {source.id: source.fingerprint},
        }

    return produce(ds, LABELS.name, fp, build, parent=parent.cluster_id)


def _scope_version(
    ds: Dataset, parent: ScopeSidecar, labels_id: str, rows: pd.DataFrame, fields: dict[str, Any]
) -> Artifact:
    # The parent's fingerprint and the edit make the version's: the same edit of the same version is one artifact.
    fp = fingerprint("curate-scope", curate_stage.CODE_VERSION, {**fields, "labels": labels_id}, _inputs(parent))
    labels_meta = ds.sidecar("labels", labels_id)
    labels = read_labels(ds, labels_id)

    def build(staging: Staging) -> dict[str, Any]:
        curate_stage.with_deleted(rows).to_parquet(staging.path(TABLE), index=False)
        own = {k: v for k, v in parent.raw.items() if k not in _OWN}
        return {
            **own,
            **fields,
            "edited_from": parent.id,
            "edit_root": parent.raw.get("edit_root") or parent.id,
            "cluster_labels_id": labels_id,
            "cluster_labels": dict(labels_meta.raw),
            "cluster_labels_lookup": scope_stage.cluster_lookup(labels),
            "cluster_levels_lookup": scope_stage.cluster_lookup(read_levels(ds, labels_id)),
            "removed": int(curate_stage.with_deleted(rows)[DELETED].sum()),
            "inputs": _inputs(parent),
        }

    if labels_meta.cluster_id != parent.cluster_id:
        raise UserError(f"labels {labels_id} do not belong to clustering {parent.cluster_id}")
    return produce(ds, SCOPE.name, fp, build)


def _inputs(parent: ScopeSidecar) -> dict[str, str]:
    return {parent.id: parent.fingerprint}
