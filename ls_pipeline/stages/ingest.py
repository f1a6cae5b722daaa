"""Ingest: choose and clean the text column, make every column storable, and profile the columns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from ls_pipeline.errors import UserError
from ls_pipeline.params import param

CODE_VERSION = "1"
CATEGORY_LIMIT = 100  # a text column with at most this many distinct values is profiled as categories
# A text longer than this is almost always a broken file (an unclosed quote swallowing the rows after it), and the
# embedder reads only its first few hundred tokens anyway: refuse it rather than store and serve it.
MAX_TEXT_CHARS = 1_000_000
_TEXT_HINTS = ("text", "content", "body", "description", "message", "sentence", "document")


@dataclass(frozen=True)
class IngestParams:
    text_column: str | None = param(None, "the column to embed (default: guessed, 'text' if present)")


def prepare(df: pd.DataFrame, params: IngestParams) -> tuple[pd.DataFrame, str, int]:
    """The rows as they will be stored, the text column, and how many texts were empty (kept as "")."""
    df = df.reset_index(drop=True)
    df.columns = [str(c) for c in df.columns]
    duplicates = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if duplicates:
        raise UserError(f"duplicate column names: {', '.join(duplicates)}; rename them and retry")
    if len(df) == 0:
        raise UserError("the data has no rows")
    text_column = choose_text_column(df, params.text_column)
    texts, empty = clean_texts(df[text_column], text_column)
    df = _arrow_safe(df)
    df[text_column] = texts
    return df, text_column, empty


def choose_text_column(df: pd.DataFrame, requested: str | None) -> str:
    if requested is not None:
        if requested not in df.columns:
            raise UserError(f"unknown text column {requested!r}; the columns are: {', '.join(df.columns)}")
        return requested
    candidates = [c for c in df.columns if _is_texty(df[c])]
    if not candidates:
        raise UserError(f"no text column found among: {', '.join(df.columns)}; name one with --text_column")
    named = [c for c in candidates if c.lower() in _TEXT_HINTS]
    if named:
        return named[0]
    return max(candidates, key=lambda c: df[c].astype("string").str.len().mean())


def clean_texts(column: pd.Series, name: str) -> tuple[pd.Series, int]:
    """Texts as str; nulls and blanks become "" (counted), so every row keeps its ls_index."""
    if column.isna().all():
        raise UserError(f"every value of text column {name!r} is empty; pick another column with --text_column")
    if not _is_texty(column):
        raise UserError(f"column {name!r} holds {column.dtype} values, not text; pick a text column with --text_column")
    texts = column.astype("string").fillna("").astype(str)
    lengths = texts.str.len()
    if len(texts) and lengths.max() > MAX_TEXT_CHARS:
        row = int(lengths.to_numpy().argmax())
        raise UserError(
            f"row {row} of text column {name!r} has {lengths.iloc[row]:,} characters, over the limit of "
            f"{MAX_TEXT_CHARS:,}; check the file for an unclosed quote, or split or shorten that text"
        )
    empty = int((texts.str.strip() == "").sum())
    if empty == len(texts):
        raise UserError(f"every value of text column {name!r} is empty; pick another column with --text_column")
    return texts, empty


def _is_texty(column: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(column) or pd.api.types.is_object_dtype(column)


def _arrow_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns of mixed types (common in JSON) cannot go to Parquet as they are: store them as text."""
    out = df.copy()
    for name in out.columns:
        if pd.api.types.is_object_dtype(out[name]):
            try:
                pa.array(out[name], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                out[name] = out[name].map(lambda v: None if _is_null(v) else str(v)).astype("string")
    return out


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def profile_columns(df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Per column: type, distinct and null counts, numeric extent or categories; what filters in the viewer need."""
    return {name: profile_column(df[name]) for name in df.columns}


def profile_column(column: pd.Series) -> dict[str, Any]:
    nulls = int(column.isna().sum())
    try:
        unique = int(column.nunique(dropna=True))
    except TypeError:  # lists and dicts are unhashable
        return {"type": "object", "unique_values_count": None, "null_count": nulls}
    if pd.api.types.is_bool_dtype(column):
        return {"type": "boolean", "unique_values_count": unique, "null_count": nulls}
    if pd.api.types.is_numeric_dtype(column):
        values = column.dropna()
        extent = [values.min().item(), values.max().item()] if len(values) else None
        return {"type": "number", "unique_values_count": unique, "null_count": nulls, "extent": extent}
    if pd.api.types.is_datetime64_any_dtype(column):
        values = column.dropna()
        extent = [values.min().isoformat(), values.max().isoformat()] if len(values) else None
        return {"type": "date", "unique_values_count": unique, "null_count": nulls, "extent": extent}
    profile: dict[str, Any] = {"type": "string", "unique_values_count": unique, "null_count": nulls}
    if unique <= CATEGORY_LIMIT:
        profile["categories"] = sorted(str(v) for v in column.dropna().unique())
    return profile


REMOVED_UPSTREAM = "removed_upstream"  # the column flagging stored rows whose key a full read no longer returned


def upsert(
    existing: pd.DataFrame, incoming: pd.DataFrame, key: str, mark_removed: bool = False
) -> tuple[pd.DataFrame, int, int]:
    """Merge a newer batch into stored rows: every stored row keeps its position (its ls_index), rows whose key
    is stored take the incoming values, new keys are appended in incoming order. With `mark_removed` (the batch is
    every row there is), stored rows whose key is not in it are flagged in REMOVED_UPSTREAM, never dropped: that
    would renumber every later row. Returns (rows, added, changed)."""
    for frame, what in ((existing, "the stored rows"), (incoming, "the new rows")):
        if key not in frame.columns:
            raise UserError(f"{what} have no {key!r} column to match rows on")
    incoming = incoming.drop_duplicates(key, keep="last")
    stored_keys = existing[key].astype(str)
    position = pd.Series(range(len(existing)), index=stored_keys)
    matched = incoming[incoming[key].astype(str).isin(position.index)]
    fresh = incoming[~incoming[key].astype(str).isin(position.index)]
    merged = existing.copy()
    columns = [c for c in incoming.columns if c in merged.columns]
    rows = position[matched[key].astype(str)].to_numpy()
    # as text, missing as a marker: NaN != NaN would count every row with a null as changed
    before = merged.iloc[rows][columns].astype(str).fillna("<null>").to_numpy()
    after = matched[columns].astype(str).fillna("<null>").to_numpy()
    changed = int((before != after).any(axis=1).sum()) if len(rows) else 0
    for column in columns:
        values = merged[column].astype(object).to_numpy(copy=True)
        values[rows] = matched[column].astype(object).to_numpy()
        merged[column] = values
    if mark_removed:
        gone = ~stored_keys.isin(incoming[key].astype(str)).to_numpy()
        was = merged[REMOVED_UPSTREAM].fillna(False).astype(bool).to_numpy() if REMOVED_UPSTREAM in merged else None
        merged[REMOVED_UPSTREAM] = gone
        changed += int((gone != was).sum()) if was is not None else int(gone.sum())
        fresh = fresh.assign(**{REMOVED_UPSTREAM: False})
    merged = pd.concat([merged, fresh], ignore_index=True).infer_objects()
    return merged, len(fresh), changed
