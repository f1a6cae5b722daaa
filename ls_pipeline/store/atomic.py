"""Whole-file writes that readers never see half done: os.replace locally, one PUT on object storage.

An S3 PUT is already atomic (readers see the old object or the new one), so a remote write is the bytes in one call;
`create=True` adds If-None-Match: * so exactly one writer can make a given object (how ids are claimed and sidecars
published, see artifacts.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ls_pipeline.store.location import is_remote, scratch_folder


class AlreadyExists(FileExistsError):
    """A create-only write found the object there: another writer made it first."""


@contextlib.contextmanager
def atomic_path(target: Any) -> Iterator[Path]:
    """Yield a local temp path; on success it becomes `target` (renamed locally, uploaded remotely), else is removed."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=local_folder(target))
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        publish(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def local_folder(target: Any) -> Path:
    """Where a file bound for `target` is written first (made if missing): its own folder locally (so the rename is
    atomic), this machine's scratch folder for a remote one."""
    folder = scratch_folder(target.parent) if is_remote(target) else target.parent
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def publish(local: Path, target: Any) -> None:
    """A finished local file becomes `target` whole: renamed locally, uploaded in one request remotely."""
    if is_remote(target):
        upload(local, target)
    else:
        os.replace(local, target)


def upload(local: Path, target: Any, create: bool = False) -> None:
    """Put a local file at a remote path in one request (multipart above s3fs's block size), optionally create-only."""
    try:
        target.fs.put_file(str(local), target.path, mode="create" if create else "overwrite")
    except FileExistsError as exc:
        raise AlreadyExists(str(target)) from exc


def write_bytes(target: Any, data: bytes, create: bool = False) -> None:
    if is_remote(target):
        try:
            target.fs.pipe_file(target.path, data, mode="create" if create else "overwrite")
        except FileExistsError as exc:
            raise AlreadyExists(str(target)) from exc
        return
    if create:
        _create_local(target, data)
        return
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def _create_local(target: Path, data: bytes) -> None:
    """The local twin of If-None-Match: os.link fails if the name exists, so one writer wins, and atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        try:
            os.link(tmp, target)
        except FileExistsError as exc:
            raise AlreadyExists(str(target)) from exc
    finally:
        os.unlink(tmp)


def write_json(target: Any, obj: Any, create: bool = False) -> None:
    write_bytes(target, (json.dumps(obj, indent=2, default=_json_default) + "\n").encode(), create=create)


def _json_default(value: Any) -> Any:
    # numpy scalars and paths show up in params and stats; everything else is a bug worth a TypeError.
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
