"""Reading a stored file wherever the data directory lives: the path itself locally, a buffered object remotely."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import IO, Any

import pandas as pd

from ls_pipeline.store.location import is_remote

# Large sequential blocks: a Parquet footer or an HDF5 header is a few small reads, the data one long one, and every
# request to an object store costs a round trip (NOTES-env: 5 MiB readahead reads a 30 MB HDF5 in 0.33 s).
READ_BLOCK = 5 * 2**20


@contextlib.contextmanager
def readable(path: Any) -> Iterator[Any | IO[bytes]]:
    """What h5py, numpy and pyarrow can open: the local path, or a read-ahead file object on object storage."""
    if not is_remote(path):
        yield path
        return
    with path.fs.open(path.path, "rb", cache_type="readahead", block_size=READ_BLOCK) as handle:
        yield handle


def read_stored_table(path: Any, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A stored Parquet table (all columns, or just `columns`)."""
    if not is_remote(path):
        return pd.read_parquet(path, columns=list(columns) if columns is not None else None)
    return pd.read_parquet(path.path, columns=list(columns) if columns is not None else None, filesystem=path.fs)
