"""Ingest through the data directory: the rows and meta of a dataset, and the import manifest of an upsert."""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from ls_pipeline.errors import UserError
from ls_pipeline.sources.registry import dataset_name, read_rows
from ls_pipeline.stages import ingest as ingest_stage
from ls_pipeline.store import atomic
from ls_pipeline.store.artifacts import now_iso
from ls_pipeline.store.datadir import DataDir, Dataset, check_name
from ls_pipeline.store.files import read_stored_table
from ls_pipeline.store.imports import record_import

log = logging.getLogger(__name__)


def ingest(
    data: DataDir,
    name: str,
    frame: pd.DataFrame,
    params: ingest_stage.IngestParams,
    source: str = "dataframe",
    upsert_key: str | None = None,
    mark_removed: bool = False,
) -> dict[str, Any]:
    """Write the rows and meta of a dataset. Re-ingesting identical rows changes nothing.

    With `upsert_key`, rows merge into the stored ones by that column (stored rows keep their ls_index) and the
    batch is recorded in the import manifest; without it, the new rows replace the stored ones. With
    `mark_removed` too, `frame` is every row there is: stored rows missing from it are flagged, not dropped.
    """
    ds = data.dataset(name, must_exist=False)
    if ds.meta_path.is_file() and ds.is_foreign():
        raise UserError(
            f"dataset {name!r} was ingested by Latent Scope: ingesting here would replace its input.parquet and "
            "meta.json; ingest the file under another name, or add scopes to this one with ls-run DATASET"
        )
    batch = {"source": source, "rows": len(frame)}
    if upsert_key and ds.input_path.is_file():
        frame, batch["added"], batch["changed"] = ingest_stage.upsert(
            read_stored_table(ds.input_path), frame, upsert_key, mark_removed
        )
    elif upsert_key and mark_removed:  # the column from the first batch on, so a later upsert changes no schema
        frame = frame.assign(**{ingest_stage.REMOVED_UPSTREAM: False})
    rows, text_column, empty = ingest_stage.prepare(frame, params)
    if empty:
        log.warning("%d of %d rows have an empty %r; they are kept as empty texts", empty, len(rows), text_column)
    buffer = io.BytesIO()
    rows.to_parquet(buffer, index=False)
    digest = hashlib.sha256(buffer.getvalue()).hexdigest()[:20]
    ds.path.mkdir(parents=True, exist_ok=True)
    with ds.lock():
        if ds.meta_path.is_file() and ds.input_path.is_file() and ds.meta().get("fingerprint") == digest:
            log.info("dataset %r is unchanged (same rows); nothing rewritten", name)
            if upsert_key:  # the manifest still records that this import happened (and changed nothing)
                record_import(ds, {**batch, "added": 0, "total": len(rows), "fingerprint": digest})
            return ds.meta()
        meta = _meta(name, rows, text_column, empty, source, digest)
        atomic.write_bytes(ds.input_path, buffer.getvalue())
        if upsert_key:
            batch.setdefault("added", len(rows))
            record_import(ds, {**batch, "total": len(rows), "fingerprint": digest})
        atomic.write_json(ds.meta_path, meta)
    return meta


def _meta(name: str, rows: pd.DataFrame, text_column: str, empty: int, source: str, digest: str) -> dict[str, Any]:
    return {
        "id": name,
        "length": len(rows),
        "columns": list(rows.columns),
        "text_column": text_column,
        "column_metadata": ingest_stage.profile_columns(rows),
        "empty_texts": empty,
        "source": source,
        "fingerprint": digest,
        "ingested_at": now_iso(),
        "code_version": ingest_stage.CODE_VERSION,
    }


def read_texts(ds: Dataset, column: str | None = None) -> list[str]:
    meta = ds.meta()
    column = column or meta["text_column"]
    if column not in meta["columns"]:
        raise UserError(f"unknown text column {column!r} in dataset {ds.name!r}; columns: {', '.join(meta['columns'])}")
    texts = read_stored_table(ds.input_path, columns=[column])[column]
    return texts.astype("string").fillna("").astype(str).tolist()


def validate_file(path: Path) -> str:
    """The dataset name for a readable data file or X archive; UserError naming the problem otherwise."""
    name = check_name(dataset_name(path))
    rows = read_rows(path)
    # Every check ingest makes, so the run it starts does not fail.
    ingest_stage.prepare(rows.frame, ingest_stage.IngestParams(text_column=rows.text_column))
    return name


def try_validate(path: Path) -> tuple[str | None, str | None]:
    """(name, None) for a good file, (None, reason) for a bad one; never raises for a bad file."""
    try:
        return validate_file(path), None
    except UserError as exc:
        return None, str(exc)
    except Exception as exc:  # a reader library failing in its own way is still a bad file, not a sensor crash
        return None, f"cannot read {path.name}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
