"""Export through the data directory: the newest version of a scope's line of edits, with the dataset's tags, as
scopes/scopes-NNN-export.parquet (+ scopes-NNN-export.json saying what it was made from).

The export of one version is rewritten when a tag changes (tags are not versioned by scope): it is a derived file,
replaced atomically, and what it was made from is in its sidecar; the versions it reads are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ls_pipeline.stages import export as export_stage
from ls_pipeline.steps import curate
from ls_pipeline.store import atomic, tags
from ls_pipeline.store.artifacts import now_iso
from ls_pipeline.store.datadir import Dataset
from ls_pipeline.store.files import read_stored_table
from ls_pipeline.store.layout import EXPORT, EXPORT_SIDECAR, SCOPE


@dataclass(frozen=True)
class Export:
    scope_id: str  # the version exported (the newest of the line)
    curation: str  # curation_fingerprint: the scope version and the tags it was made from
    record: dict[str, Any]


def current_tags(ds: Dataset) -> dict[str, list[int]]:
    return {name: tags.read(ds, name) or [] for name in ds.tags()}


def curation(ds: Dataset, scope_id: str) -> tuple[str, str]:
    """(the newest version of the scope's line, the curation fingerprint an export of it now would carry)."""
    newest = curate.latest(ds, scope_id)
    sidecar = ds.sidecar("scope", newest)
    return newest, export_stage.curation_fingerprint(newest, sidecar.fingerprint, current_tags(ds))


def export(ds: Dataset, scope_id: str) -> Export:
    with ds.lock():  # tags and versions read together, as one state
        newest, fp = curation(ds, scope_id)
        found = current_tags(ds)
        table = export_stage.export_table(read_stored_table(ds.input_path), curate.read_scope_rows(ds, newest), found)
    target = ds.file(SCOPE, newest, EXPORT)
    with atomic.atomic_path(target) as tmp:
        table.to_parquet(tmp, index=False)
    record = {
        "scope_id": newest,
        "line_of": scope_id,
        "curation": fp,
        "rows": len(table),
        "removed": int(table["deleted"].sum()),
        "tags": {name: len(rows) for name, rows in found.items()},
        "columns": list(table.columns),
        "created_at": now_iso(),
    }
    atomic.write_json(ds.file(SCOPE, newest, EXPORT_SIDECAR), record)
    return Export(newest, fp, record)
