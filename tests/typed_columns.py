"""The session's built sample with columns of every type a facet charts (a number, a float, a date, a boolean, each
with nulls) and a column of lists beside the string columns, ingested again over the same rows: the scope and the
embedding still fit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ls_pipeline import steps
from ls_pipeline.stages.ingest import IngestParams
from ls_pipeline.store import DataDir


def typed_frame(rows: pd.DataFrame) -> pd.DataFrame:
    n = len(rows)
    out = rows.copy()
    every = np.arange(n)
    out["words"] = pd.array([None if i % 17 == 0 else len(t.split()) for i, t in enumerate(rows["text"])], "Int64")
    out["ratio"] = [np.nan if i % 13 == 0 else ((i * 37) % 100) / 100 for i in every]
    days = pd.to_timedelta((every * 7919) % 1100, unit="D") + pd.to_timedelta((every * 13) % 24, unit="h")
    released = pd.Timestamp("2021-03-01", tz="UTC") + days
    out["released"] = released.where(every % 11 != 5)
    out["free"] = pd.array([None if i % 19 == 3 else i % 3 != 0 for i in every], "boolean")
    out["parts"] = [name.split("-")[:2] for name in rows["package"]]  # lists: no chart of their own
    return out


def add_typed_columns(root: Path, dataset: str = "sample") -> pd.DataFrame:
    """Ingest the dataset's rows again with the typed columns added; returns the new rows."""
    data = DataDir(root)
    frame = typed_frame(pd.read_parquet(root / dataset / "input.parquet"))
    steps.ingest(data, dataset, frame, IngestParams(text_column="text"))
    return pd.read_parquet(root / dataset / "input.parquet")
