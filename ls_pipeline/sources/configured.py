"""Where a component's rows live: an upstream asset's value, a SQL query, or a file, glob or URL (local or s3://).

Each kind yields a DataFrame; how the rows merge into the dataset (the upsert key, the watermark, rows gone upstream)
is the ingest step's business, not the reader's.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ls_pipeline import settings
from ls_pipeline.errors import UserError
from ls_pipeline.sources import sql
from ls_pipeline.sources.registry import read_rows
from ls_pipeline.store.location import as_path, is_remote

KINDS = ("asset", "sql", "path")


@dataclass(frozen=True)
class ConfiguredSource:
    kind: str  # one of KINDS
    target: str  # the upstream asset's key ("a/b"), the query, or the path / glob / URL
    url_env: str = ""  # sql only: the environment variable holding the database URL
    watermark: str = ""  # sql only: read rows past the highest value stored in this column

    def describe(self) -> str:
        """What the metadata and logs may show: never the URL, only its variable's name."""
        if self.kind == "sql":
            return f"sql query on ${self.url_env}"
        return f"{self.kind} {self.target}"


def frame_of(value: Any) -> pd.DataFrame:
    """An upstream asset's value as rows: a pandas DataFrame, an Arrow table, or the path of a data file."""
    if isinstance(value, pd.DataFrame):
        return value
    if type(value).__module__.startswith("pyarrow") and hasattr(value, "to_pandas"):
        return value.to_pandas()
    if isinstance(value, str | Path):
        return read_rows(as_path(str(value))).frame
    raise UserError(
        f"the upstream asset gave a {type(value).__name__}; return a pandas DataFrame, an Arrow table or a file path"
    )


def read_query_source(source: ConfiguredSource, stored: pd.DataFrame | None) -> pd.DataFrame:
    url = settings.named_secret(source.url_env)
    if not url:
        raise UserError(f"{source.url_env} is not set; set it to the database URL the source query runs on")
    after = None
    if source.watermark and stored is not None and source.watermark in stored.columns and len(stored):
        after = stored[source.watermark].max()
        after = after.item() if hasattr(after, "item") else after
    return sql.read_query(url, source.url_env, source.target, source.watermark or None, after)


def read_path_source(source: ConfiguredSource) -> pd.DataFrame:
    path = as_path(source.target)
    if is_remote(path) or not glob.has_magic(source.target):
        return read_rows(path).frame
    found = sorted(glob.glob(str(Path(source.target).expanduser())))
    if not found:
        raise UserError(f"no file matches {source.target}; check the source path")
    return pd.concat([read_rows(Path(p)).frame for p in found], ignore_index=True)
