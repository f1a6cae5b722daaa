"""One writer per dataset at a time: an flock on a local disk, a lease object on object storage.

Object stores have no flock and no atomic rename, but they do have conditional writes: a PUT with If-None-Match: *
succeeds for exactly one writer, and one with If-Match: <etag> only while nobody else has rewritten the object. A
lease is a small JSON object made with the first and renewed (or taken over once expired) with the second, so it
serializes writers on any number of machines. Its expiry is why a writer that dies (power cut, SIGKILL) cannot hold a
dataset forever: after LATENT_SCOPE_LEASE_SEC without renewal anyone may take it over, and the holder's renewals,
made by a background thread every third of that time, keep it alive for as long as the work takes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ls_pipeline import settings
from ls_pipeline.store.location import is_remote

log = logging.getLogger(__name__)

LEASE_ENV = "LATENT_SCOPE_LEASE_SEC"
_POLL_S = 0.25


@contextlib.contextmanager
def exclusive(lock_file: Any) -> Iterator[None]:
    """Block until this process holds the lock (a local flock, or a lease on object storage)."""
    if is_remote(lock_file):
        with Lease(lock_file, lease_seconds()).held():
            yield
        return
    with _flock(lock_file):
        yield


@contextlib.contextmanager
def _flock(lock_file: Path) -> Iterator[None]:
    """flock is released by the kernel if the process dies."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def lease_seconds() -> float:
    return settings.get(LEASE_ENV)


class LeaseLost(RuntimeError):
    """Another writer took the lease over (ours expired unrenewed): what we were writing must not be published."""


class Lease:
    """A lease object on S3: {owner, expires_at}, created with If-None-Match and renewed with If-Match."""

    def __init__(self, path: Any, seconds: float) -> None:
        self.fs = path.fs
        self.bucket, _, self.key = path.path.partition("/")
        self.name = path.path
        self.seconds = seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.etag: str | None = None
        self.lost = threading.Event()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.acquire()
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew_until, args=(stop,), daemon=True, name=f"lease {self.key}")
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            self.release()
        if self.lost.is_set():
            raise LeaseLost(f"lost the lease {self.name}: another writer took it over while this one was stalled")

    def acquire(self) -> None:
        waited_since = time.monotonic()
        while True:
            if self._put(if_none_match=True):
                return
            current = self._read()
            if current is None:
                continue  # released between our PUT and our read: try again at once
            body, etag = current
            if float(body.get("expires_at", 0)) < time.time():
                log.warning("taking over the expired lease %s from %s", self.name, body.get("owner"))
                if self._put(if_match=etag):
                    return
            if time.monotonic() - waited_since > 5:
                log.info("waiting for %s, held by %s", self.name, body.get("owner"))
                waited_since = time.monotonic()
            time.sleep(_POLL_S)

    def release(self) -> None:
        if self.lost.is_set() or self.etag is None:
            return
        current = self._read()
        if current is not None and current[1] == self.etag:
            with contextlib.suppress(FileNotFoundError):
                self.fs.call_s3("delete_object", Bucket=self.bucket, Key=self.key)

    def _renew_until(self, stop: threading.Event) -> None:
        while not stop.wait(self.seconds / 3):
            if not self._put(if_match=self.etag):
                self.lost.set()
                log.error("lost the lease %s: another writer took it over", self.name)
                return

    def _put(self, if_none_match: bool = False, if_match: str | None = None) -> bool:
        """Write our lease body conditionally; False if the condition failed (someone else holds or rewrote it)."""
        body = json.dumps({"owner": self.owner, "expires_at": time.time() + self.seconds}).encode()
        condition = {"IfNoneMatch": "*"} if if_none_match else {"IfMatch": if_match}
        try:
            answer = self.fs.call_s3("put_object", Bucket=self.bucket, Key=self.key, Body=body, **condition)
        except (FileExistsError, FileNotFoundError):
            return False
        except OSError as exc:
            if _precondition_failed(exc):
                return False
            raise
        self.etag = answer["ETag"]
        return True

    def _read(self) -> tuple[dict[str, Any], str] | None:
        try:
            answer = self.fs.call_s3("get_object", Bucket=self.bucket, Key=self.key)
        except FileNotFoundError:
            return None
        data = _read_body(self.fs, answer["Body"])
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = {}  # a torn or foreign object: treat it as expired
        return (parsed if isinstance(parsed, dict) else {}), answer["ETag"]


def _read_body(fs: Any, body: Any) -> bytes:
    from fsspec.asyn import sync

    async def read() -> bytes:
        async with body:
            return await body.read()

    return sync(fs.loop, read)


def _precondition_failed(exc: BaseException) -> bool:
    text = f"{exc} {exc.__cause__ or ''}"
    return "PreconditionFailed" in text or "412" in text or "ConditionalRequestConflict" in text
