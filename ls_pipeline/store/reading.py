"""Reading the data directory's files the same way on a local disk and on object storage.

Readers that cache what they read (the viewer) key the cache by `version(path)`: on a disk the mtime, inode and size
(a file replaced twice within one mtime tick still changes inode); on object storage the ETag and size, because
LastModified has one-second resolution there and a tag file can be rewritten twice in a second.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ls_pipeline.store.location import is_remote

Version = tuple[Any, ...]


def version(path: Any) -> Version:
    """What changes whenever the file's content does; FileNotFoundError if it is not there."""
    if not is_remote(path):
        stat = path.stat()
        return (stat.st_mtime_ns, stat.st_ino, stat.st_size)
    info = path.fs.info(path.path)
    return (info.get("ETag") or info.get("LastModified"), info.get("size"))


def read_table(path: Any, columns: list[str] | None = None) -> pa.Table:
    """A parquet file's columns, read through the store's own filesystem when it is remote."""
    if not is_remote(path):
        return pq.read_table(path, columns=columns)
    return pq.read_table(path.path, columns=columns, filesystem=path.fs)


def for_serving(root: Any) -> Any:
    """The same data directory, failing fast when it is remote: a server answering people should say the store is
    down within a couple of seconds (botocore's default retries took 7.6 s per call on a stopped store here)."""
    if not is_remote(root):
        return root
    from upath import UPath

    quick = {"config_kwargs": {"retries": {"max_attempts": 2}, "connect_timeout": 3}}
    return UPath(str(root), **{**root.storage_options, **quick})
