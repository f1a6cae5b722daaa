"""Short-lived answers to an object store's metadata questions (a file's info, a folder's listing), for a server.

Why: every viewer request asks the store whether its dataset exists, which scopes and tags it has and the ETag of
each file a cache of ours is keyed by: 2 to 18 small requests a request (moto's log), each a round trip, though the
answers rarely change. Keeping each answer for a few seconds makes the repeats cost nothing.

What it trades: a file another process writes (a scope published by a pipeline run, a tag edited by another server)
is seen at most the TTL later. This process's own writes go through a client that caches nothing (viewer/catalog.py)
and then clear every answer here, so they are seen at once.

What it never does: cache file contents, or read a file by a remembered ETag. s3fs reads with If-Match on the ETag it
was given, so opening a file first asks for its info afresh (a remembered one would make the read fail once the file
was replaced); the fresh answer is remembered in turn.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from fsspec.asyn import sync
from s3fs import S3FileSystem

# Negative answers are kept too (an unknown dataset name asked again and again): the bound keeps a scan of made-up
# names from growing the memory.
MAX_ANSWERS = 4096


class Answers:
    """Values and "not found"s by key, each kept `ttl_s` seconds, the oldest dropped beyond `max_entries`.

    An answer fetched while clear() ran is not kept: it may predate the write that caused the clear.
    """

    def __init__(self, ttl_s: float, max_entries: int = MAX_ANSWERS, clock: Callable[[], float] = time.monotonic):
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()  # key -> (expires, value or error)
        self._generation = 0
        self._guard = threading.Lock()

    def generation(self) -> int:
        with self._guard:
            return self._generation

    def get(self, key: Hashable) -> tuple[bool, Any]:
        """(True, value) while an answer is fresh, else (False, None); a kept FileNotFoundError is the value."""
        with self._guard:
            entry = self._entries.get(key)
            if entry is None:
                return False, None
            if entry[0] <= self.clock():
                del self._entries[key]
                return False, None
            return True, entry[1]

    def put(self, key: Hashable, value: Any, generation: int) -> None:
        """Keep `value` unless clear() ran since `generation` was read."""
        with self._guard:
            if generation != self._generation:
                return
            self._entries[key] = (self.clock() + self.ttl_s, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget(self, key: Hashable) -> None:
        with self._guard:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._guard:
            self._entries.clear()
            self._generation += 1

    def __len__(self) -> int:
        with self._guard:
            return len(self._entries)


class CachingS3FileSystem(S3FileSystem):
    """s3fs, answering info() and whole-folder listings from Answers for `metadata_ttl_s` seconds.

    s3fs's own listings cache (off in this project, see location.STORAGE_OPTIONS) keeps listings only, not the HEAD
    answers most of a request's questions are, and forgets only a written path and its parents; this keeps both
    kinds under one clock, and any write through this client forgets everything.
    """

    def __init__(self, *args: Any, metadata_ttl_s: float, **kwargs: Any) -> None:
        self.answers = Answers(metadata_ttl_s)
        super().__init__(*args, **kwargs)

    async def _info(
        self, path: str, bucket: Any = None, key: Any = None, refresh: bool = False, version_id: Any = None
    ) -> dict[str, Any]:
        fetch = super()._info
        if refresh or version_id is not None:
            return await fetch(path, bucket, key, refresh=refresh, version_id=version_id)
        return await self._remembered(self._info_key(path), lambda: fetch(path, bucket, key))

    async def _lsdir(
        self,
        path: str,
        refresh: bool = False,
        max_items: Any = None,
        delimiter: str = "/",
        prefix: str = "",
        versions: bool = False,
    ) -> list[dict[str, Any]]:
        fetch = super()._lsdir
        if refresh or max_items or prefix or versions or delimiter != "/":  # partial or special listings: as asked
            return await fetch(path, refresh, max_items, delimiter, prefix, versions)
        return await self._remembered(self._ls_key(path), lambda: fetch(path))

    # The sync calls the viewer makes (UPath's is_file, is_dir, iterdir; files.version) answer a kept answer on the
    # calling thread. Through s3fs they would hop to fsspec's event-loop thread and back (13 hops a search), and
    # under load each hop waits for that thread to be scheduled.

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        if not kwargs:
            found, value = self.answers.get(self._info_key(path))
            if found:
                return _given(value)
        return sync(self.loop, self._info, path, **kwargs)

    def isfile(self, path: str) -> bool:
        found, value = self.answers.get(self._info_key(path))
        if found:
            return not isinstance(value, FileNotFoundError) and value.get("type") == "file"
        return sync(self.loop, self._isfile, path)

    def isdir(self, path: str) -> bool:
        found, value = self.answers.get(self._ls_key(path))
        if found and "/" in self._strip_protocol(path).strip("/"):  # a bucket's answer is not its listing's
            return not isinstance(value, FileNotFoundError) and bool(value)
        return sync(self.loop, self._isdir, path)

    def ls(self, path: str, detail: bool = False, **kwargs: Any) -> list[Any]:
        if not kwargs:
            found, value = self.answers.get(self._ls_key(path))
            if found and value and not isinstance(value, FileNotFoundError):  # else s3fs looks further
                files = _given(value)
                return files if detail else sorted(f["name"] for f in files)
        return sync(self.loop, self._ls, path, detail=detail, **kwargs)

    def _info_key(self, path: str) -> Hashable:
        return ("info", self._strip_protocol(path))

    def _ls_key(self, path: str) -> Hashable:
        return ("ls", self._strip_protocol(path).strip("/"))

    def _open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        if "r" in mode:  # the read goes by this info's ETag and size: they must be now's
            self.answers.forget(self._info_key(path))
        return super()._open(path, mode, **kwargs)

    def invalidate_cache(self, path: str | None = None) -> None:
        # s3fs calls this after each of its writes (put, pipe, rm, copy): a write may change any answer.
        self.answers.clear()
        super().invalidate_cache(path)

    async def _remembered(self, key: Hashable, fetch: Callable[[], Awaitable[Any]]) -> Any:
        found, value = self.answers.get(key)
        if not found:
            generation = self.answers.generation()
            try:
                value = await fetch()
            except FileNotFoundError as exc:
                value = exc
            self.answers.put(key, value, generation)
        return _given(value)


def _given(value: Any) -> Any:
    """A kept answer as a caller gets it: a kept "not found" raised, a value copied (callers may change what they
    get; the kept one must stay as fetched)."""
    if isinstance(value, FileNotFoundError):
        raise FileNotFoundError(*value.args)
    return copy.deepcopy(value)


def caching_filesystem(storage_options: dict[str, Any], metadata_ttl_s: float) -> CachingS3FileSystem:
    """A client of its own (never fsspec's shared instance), so only its owner's reads see its answers."""
    return CachingS3FileSystem(skip_instance_cache=True, metadata_ttl_s=metadata_ttl_s, **storage_options)
