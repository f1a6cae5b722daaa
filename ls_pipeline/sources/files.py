"""Read CSV, TSV, Parquet, JSON, JSONL and Excel files into a DataFrame, with one-line errors for bad files."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pandas as pd

from ls_pipeline.errors import UserError

SUFFIXES = (".csv", ".tsv", ".parquet", ".json", ".jsonl", ".ndjson", ".xlsx", ".xls")


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a data file by its suffix. Every failure is a UserError naming the file and the fix."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UserError(
            f"unsupported file type {suffix or '(none)'!r} for {path.name}: use one of {', '.join(SUFFIXES)}"
        )
    if path.stat().st_size == 0:
        raise UserError(f"{path.name} is empty: it has no header and no rows")
    try:
        df = _read(path, suffix)
    except UserError:
        raise
    except UnicodeDecodeError as exc:
        raise UserError(
            f"{path.name} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8 and retry"
        ) from exc
    except (ValueError, OSError, csv.Error, pd.errors.ParserError) as exc:
        # Readers (pyarrow) put the file's absolute path in their message: the user knows it, a log reader need not.
        detail = _first_line(exc).replace(str(path.resolve()), path.name).replace(str(path), path.name)
        raise UserError(f"cannot read {path.name} as {suffix[1:]}: {detail}") from exc
    if len(df.columns) == 0:
        raise UserError(f"{path.name} has no columns")
    if len(df) == 0:
        raise UserError(f"{path.name} has a header but no rows")
    return df


def _read(path: Path, suffix: str) -> pd.DataFrame:
    if suffix in (".csv", ".tsv"):
        return _read_delimited(path, "\t" if suffix == ".tsv" else ",")
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix in (".jsonl", ".ndjson"):
        return pd.read_json(path, lines=True, dtype=False)
    if suffix == ".json":
        return _read_json(path)
    return _read_excel(path)


def _read_excel(path: Path) -> pd.DataFrame:
    # A damaged or renamed workbook fails deep in openpyxl/xlrd with KeyError, BadZipFile or an "engine" hint
    # the user cannot act on: say what it is instead.
    try:
        return pd.read_excel(path)
    except (KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise UserError(
            f"{path.name} is not a readable Excel workbook ({type(exc).__name__}); "
            "open and save it again in a spreadsheet program, or export it as CSV"
        ) from exc


def _read_delimited(path: Path, sep: str) -> pd.DataFrame:
    # Duplicate headers would be silently renamed by pandas (a, a.1); refuse them instead.
    with open(path, newline="", encoding="utf-8", errors="strict") as handle:
        header = next(csv.reader(handle, delimiter=sep), [])
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise UserError(f"{path.name} has duplicate column names: {', '.join(duplicates)}; rename them and retry")
    # dtype=object for text-like columns keeps ids like '007' as written; numbers are still inferred.
    return pd.read_csv(path, sep=sep, encoding="utf-8", keep_default_na=True)


def _read_json(path: Path) -> pd.DataFrame:
    try:
        return pd.read_json(path, dtype=False)
    except ValueError:
        # A .json file that is really JSON Lines is common enough to accept.
        return pd.read_json(path, lines=True, dtype=False)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
