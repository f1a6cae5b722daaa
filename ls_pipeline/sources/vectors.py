"""Read vectors computed elsewhere: .npy, HDF5, Parquet with a list column, or a list column of the dataset itself.

Every failure is a UserError naming the file and the fix; the vectors are checked (shape, row count, finite,
non-zero) and normalised to unit length by `checked_vectors`, whatever their source.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from ls_pipeline.errors import UserError

SUFFIXES = (".npy", ".h5", ".hdf5", ".parquet")


def read_vectors(path: str | Path, column: str | None = None) -> np.ndarray:
    """The matrix in a vector file; `column` picks the list column of a Parquet file or the dataset of an HDF5 one."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UserError(f"unsupported vector file {path.name}: use one of {', '.join(SUFFIXES)}")
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)
        if suffix == ".parquet":
            return list_column(pd.read_parquet(path), column, path.name)
        return _read_h5(path, column)
    except UserError:
        raise
    except (OSError, ValueError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"cannot read {path.name} as {suffix[1:]} vectors: {detail.replace(str(path), path.name)}"
        ) from exc


def _read_h5(path: Path, name: str | None) -> np.ndarray:
    with h5py.File(path, "r") as handle:
        matrices = [k for k, v in handle.items() if isinstance(v, h5py.Dataset) and v.ndim == 2]
        chosen = name or ("embeddings" if "embeddings" in matrices else matrices[0] if len(matrices) == 1 else None)
        if chosen not in matrices:
            raise UserError(f"{path.name} has 2D datasets {', '.join(matrices) or '(none)'}: name one with --column")
        return np.asarray(handle[chosen][...])


def list_column(frame: pd.DataFrame, column: str | None, where: str) -> np.ndarray:
    """A column of lists (or arrays) of numbers as a matrix; with no `column`, the frame's only such column."""
    lists = [c for c in frame.columns if len(frame) and isinstance(frame[c].iloc[0], list | tuple | np.ndarray)]
    if column is None:
        if len(lists) != 1:
            raise UserError(
                f"{where} has list columns {', '.join(map(str, lists)) or '(none)'}: name one with --column"
            )
        column = lists[0]
    if column not in frame.columns:
        raise UserError(f"{where} has no column {column!r}; columns: {', '.join(map(str, frame.columns))}")
    if column not in lists:
        raise UserError(f"column {column!r} of {where} does not hold vectors (lists of numbers)")
    lengths = {len(v) for v in frame[column]}
    if len(lengths) != 1:
        raise UserError(f"column {column!r} of {where} holds vectors of {len(lengths)} different lengths")
    try:
        return np.stack([np.asarray(v, dtype=np.float64) for v in frame[column]])
    except (TypeError, ValueError) as exc:
        raise UserError(f"column {column!r} of {where} holds something other than numbers") from exc


_CHECK_ROWS = 65_536  # rows checked and normalized at a time


def checked_vectors(vectors: object, rows: int, where: str) -> np.ndarray:
    """Unit-length float32 vectors, one per row of the dataset, or a UserError saying what is wrong with them.

    Checked and normalized in float64 a block of rows at a time: the same result as the whole matrix at once, but
    a million imported vectors no longer need two float64 copies of the matrix (docs/performance.md#a-million-rows)."""
    try:
        source = vectors if isinstance(vectors, np.ndarray) else np.asarray(vectors, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise UserError(f"{where}: vectors must be numbers in a 2D array") from exc
    if source.ndim != 2 or source.shape[1] < 1:
        raise UserError(f"{where}: vectors must form a 2D array (rows x dimensions), got shape {source.shape}")
    if source.shape[0] != rows:
        raise UserError(f"{where}: {source.shape[0]} vectors for a dataset of {rows} rows; they must match one to one")
    out = np.empty(source.shape, dtype=np.float32)
    for start in range(0, rows, _CHECK_ROWS):
        try:
            matrix = np.asarray(source[start : start + _CHECK_ROWS], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise UserError(f"{where}: vectors must be numbers in a 2D array") from exc
        if not np.isfinite(matrix).all():
            bad = start + int(np.flatnonzero(~np.isfinite(matrix).all(axis=1))[0])
            raise UserError(f"{where}: the vector of row {bad} holds NaN or infinity")
        norms = np.linalg.norm(matrix, axis=1)
        if (norms == 0).any():
            raise UserError(f"{where}: the vector of row {start + int(np.flatnonzero(norms == 0)[0])} is all zeros")
        out[start : start + len(matrix)] = matrix / norms[:, None]
    return out
