"""Where a dataset's rows come from: `_sources.yaml` in the data directory, or a file dropped in `_inbox/`.

`_sources.yaml` maps a dataset name to a file path, or to {path, text_column}; relative paths are relative
to the data directory, so every worker that mounts it resolves the same file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ls_pipeline.errors import UserError
from ls_pipeline.sources import files, tweets_json, twitter
from ls_pipeline.sources.files import read_table
from ls_pipeline.store.datadir import DataDir, check_name
from ls_pipeline.store.files import local_copy
from ls_pipeline.store.location import as_path, is_remote
from ls_pipeline.yaml_file import read_mapping


@dataclass(frozen=True)
class Source:
    name: str
    path: Path
    text_column: str | None = None


@dataclass(frozen=True)
class Rows:
    """A source file's rows, and how they merge into a dataset: X imports upsert by tweet id."""

    frame: pd.DataFrame
    upsert_key: str | None = None
    text_column: str | None = None


READABLE_SUFFIXES = (*files.SUFFIXES, ".zip")  # what read_rows reads: data files and X archives


def read_rows(path: Path, text_column: str | None = None) -> Rows:
    """Rows of a data file, an X archive zip, or the minimized tweet JSON of a hosted upload (local or stored)."""
    if is_remote(path):
        with local_copy(path) as copy:
            return read_rows(copy, text_column)
    if tweets_json.is_tweets_json(path):
        return Rows(tweets_json.read(path), "id", "text")
    if path.suffix.lower() == ".zip":
        return Rows(twitter.read_zip(path), "id", "text")
    return Rows(read_table(path), None, text_column)


def dataset_name(path: Path) -> str:
    """A dataset name from a file name: its stem with anything a folder name should not hold replaced."""
    stem = path.name[: -len(tweets_json.SUFFIX)] if tweets_json.is_tweets_json(path) else path.stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-._")[:100] or "dataset"


def load_sources(data: DataDir) -> dict[str, Source]:
    file = data.sources_file
    if not file.is_file():
        return {}
    raw = read_mapping(file, "dataset names to file paths (or to {path, text_column})")
    return {name: _source(data, name, entry, file) for name, entry in raw.items()}


def _source(data: DataDir, name: str, entry: object, file: Path) -> Source:
    check_name(name)
    if isinstance(entry, str):
        entry = {"path": entry}
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or set(entry) - {"path", "text_column"}:
        raise UserError(f"{file}: entry {name!r} must be a path or {{path: FILE, text_column: COLUMN}}")
    given = entry["path"]
    if is_remote(as_path(given)):  # a URL (s3://...) is absolute wherever the data directory is
        return Source(name, as_path(given), entry.get("text_column"))
    path = Path(given).expanduser()
    return Source(name, path if path.is_absolute() else data.root / given, entry.get("text_column"))


def find_source(data: DataDir, name: str) -> Source:
    """The configured source of a dataset, else its file in the inbox."""
    if source := load_sources(data).get(name):
        return source
    found = [p for p in data.inbox_files() if dataset_name(p) == name]
    if found:
        return Source(name, found[0])
    raise UserError(f"no source file for dataset {name!r}: drop it in {data.inbox}/ or list it in {data.sources_file}")
