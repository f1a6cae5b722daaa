"""A bounded folder of whole local copies of remote files, least recently used evicted first.

Why whole copies: an exact kNN search scores every row, so a search over vectors on object storage needs all of
them; fetching the matrix per query would move the whole file each time. One copy per file version, made when it is
first asked for and memory-mapped from then on, makes every later query read the local disk only, exactly as a local
data directory does. fsspec's own `filecache::` keeps copies but has no size bound, so this small class is ours.

Copies are keyed by URL and version (ETag), so a rewritten remote file is fetched again; the old copy ages out.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import Any

from ls_pipeline.errors import UserError
from ls_pipeline.store.files import version
from ls_pipeline.store.location import url


class CacheTooSmall(UserError):
    """A file larger than the whole cache: keeping it would break the bound, fetching it per use would be worse."""


class LocalCopies:
    def __init__(self, max_bytes: int, folder: Path | None = None, setting: str = "the cache size") -> None:
        self.max_bytes = max_bytes
        self.setting = setting
        self._owned = folder is None  # a folder we made is ours to remove
        self.folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="ls-local-copies-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._owned:  # removed at exit even when nobody calls close() (a test's app that was never served)
            weakref.finalize(self, shutil.rmtree, self.folder, True)
        self._entries: OrderedDict[str, tuple[Path, int]] = OrderedDict()  # key -> (copy, bytes), oldest first
        self._guard = threading.Lock()
        self._fetching: dict[str, threading.Lock] = {}

    @property
    def used_bytes(self) -> int:
        with self._guard:
            return sum(size for _, size in self._entries.values())

    def local(self, remote: Any) -> Path:
        """The local copy of `remote`'s current version, fetched first if there is none (once, even when many ask)."""
        current = version(remote)
        key = hashlib.sha256(repr((url(remote), current)).encode()).hexdigest()[:32]
        with self._guard:
            fetching = self._fetching.setdefault(key, threading.Lock())
        with fetching:
            with self._guard:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    return self._entries[key][0]
            size = int(current[-1] or remote.fs.info(remote.path)["size"])
            if size > self.max_bytes:
                raise CacheTooSmall(
                    f"{remote.name} is {size / 2**20:.0f} MB, more than {self.setting} "
                    f"({self.max_bytes / 2**20:.0f} MB) allows; raise it"
                )
            with self._guard:
                self._make_room(size)
            target = self.folder / f"{key}{Path(remote.name).suffix}"
            self._fetch(remote, target)
            with self._guard:
                self._entries[key] = (target, target.stat().st_size)
                self._fetching.pop(key, None)
            return target

    def _make_room(self, size: int) -> None:
        # An evicted copy still open as a memory map stays readable (POSIX keeps an unlinked file's data until the
        # last map goes): a search running on it finishes, and the disk is freed when its index is dropped.
        while self._entries and sum(s for _, s in self._entries.values()) + size > self.max_bytes:
            path, _ = self._entries.popitem(last=False)[1]
            path.unlink(missing_ok=True)

    def _fetch(self, remote: Any, target: Path) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".fetch-", suffix=".tmp")
        os.close(fd)
        try:
            remote.fs.get_file(remote.path, tmp)
            os.replace(tmp, target)  # whole or not at all: a crash mid-fetch leaves only a .tmp
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def close(self) -> None:
        with self._guard:
            self._entries.clear()
        if self._owned:
            shutil.rmtree(self.folder, ignore_errors=True)
