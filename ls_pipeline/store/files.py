"""Reading a stored file wherever the data directory lives: the path itself locally, a buffered object remotely.

Readers that cache what they read (the viewer) key the cache by `version(path)`: on a disk the mtime, inode and size
(a file replaced twice within one mtime tick still changes inode); on object storage the ETag and size, because
LastModified has one-second resolution there and a tag file can be rewritten twice in a second.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ls_pipeline.store.layout import LANCE_SUFFIX, LANCE_VERSIONS
from ls_pipeline.store.location import is_remote, scratch_folder

# Large sequential blocks: a Parquet footer or an HDF5 header is a few small reads, the data one long one, and every
# request to an object store costs a round trip (docs/performance.md#object-storage).
READ_BLOCK = 5 * 2**20


@contextlib.contextmanager
def readable(path: Any) -> Iterator[Any | IO[bytes]]:
    """What h5py, numpy and pyarrow can open: the local path, or a read-ahead file object on object storage."""
    if not is_remote(path):
        yield path
        return
    with path.fs.open(path.path, "rb", cache_type="readahead", block_size=READ_BLOCK) as handle:
        yield handle


@contextlib.contextmanager
def local_copy(path: Any) -> Iterator[Path]:
    """A local path to read a file by: the file itself, or a download (same name, so readers that go by suffix work)
    into a temporary scratch folder that is removed afterwards."""
    if not is_remote(path):
        yield path
        return
    folder = Path(tempfile.mkdtemp(prefix=".download-", dir=_ensure(scratch_folder(path.parent))))
    try:
        target = folder / path.name
        path.fs.get_file(path.path, str(target))
        yield target
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def move(source: Any, target: Any) -> None:
    """Move a file within the data directory: a rename locally, copy then delete on object storage (which has no
    rename; only the inbox moves files, and a file seen twice there is ingested idempotently)."""
    if is_remote(source):
        source.fs.mv(source.path, target.path)
    else:
        source.replace(target)


def _ensure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


Version = tuple[Any, ...]


def version(path: Any) -> Version:
    """What changes whenever the file's content does; FileNotFoundError if it is not there. A LanceDB table is a
    folder that gains a manifest file with every write: its manifest folder's listing stands for its content."""
    if not is_remote(path):
        stat = (path / LANCE_VERSIONS if path.suffix == LANCE_SUFFIX else path).stat()
        return (stat.st_mtime_ns, stat.st_ino, stat.st_size)
    info = path.fs.info(path.path)
    return (info.get("ETag") or info.get("LastModified"), info.get("size"))


def read_arrow(path: Any, columns: Sequence[str] | None = None) -> pa.Table:
    """A stored Parquet file's columns (all, or just `columns`) as an Arrow table."""
    wanted = list(columns) if columns is not None else None
    if not is_remote(path):
        return pq.read_table(path, columns=wanted)
    return pq.read_table(path.path, columns=wanted, filesystem=path.fs)


def column_names(path: Any) -> list[str]:
    """A stored Parquet file's column names, from its footer alone."""
    if not is_remote(path):
        return pq.read_schema(path).names
    return pq.read_schema(path.path, filesystem=path.fs).names


def read_stored_table(path: Any, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A stored Parquet table (all columns, or just `columns`) as a DataFrame."""
    return read_arrow(path, columns).to_pandas()
