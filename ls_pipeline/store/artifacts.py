"""Produce an artifact once: reuse by fingerprint, compute into staged files, then publish under a fresh id."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import platform
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from ls_pipeline.cpu import cpu_record
from ls_pipeline.store import sidecars
from ls_pipeline.store.atomic import publish
from ls_pipeline.store.datadir import Dataset
from ls_pipeline.store.layout import SIDECAR
from ls_pipeline.store.sidecars import Sidecar

log = logging.getLogger(__name__)
_REUSE_ONLY = contextvars.ContextVar("reuse_only", default=False)


class NotBuilt(Exception):
    """Within reuse_only(): the artifact of this kind and fingerprint does not exist yet."""


@contextlib.contextmanager
def reuse_only() -> Iterator[None]:
    """Within it, produce returns existing artifacts and raises NotBuilt where it would compute one: a caller can
    learn whether a whole recipe is done, at the cost of reading sidecars."""
    token = _REUSE_ONLY.set(True)
    try:
        yield
    finally:
        _REUSE_ONLY.reset(token)


@dataclass(frozen=True)
class Artifact:
    kind: str
    id: str
    sidecar: Any  # the Sidecar subclass of its kind (EmbeddingSidecar for "embedding" ...)
    reused: bool

    def announce(self) -> Artifact:
        if self.reused:
            log.info("reused %s: same inputs and parameters (fingerprint %s)", self.id, self.sidecar.fingerprint)
        else:
            log.info("wrote %s in %.1fs", self.id, self.sidecar.wall_time_s)
        return self


class Staging:
    """Files a stage writes before they have an id. Names are stable per fingerprint so a rerun can resume."""

    def __init__(self, folder: Path, key: str) -> None:
        self.folder = folder
        self.key = key
        self.files: dict[str, Path] = {}

    def path(self, suffix: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        staged = self.folder / f".{self.key}{suffix}.partial"
        self.files[suffix] = staged
        return staged

    def discard(self) -> None:
        for staged in self.files.values():
            staged.unlink(missing_ok=True)


Build = Callable[[Staging], dict[str, Any]]


def produce(
    ds: Dataset,
    kind: str,
    fingerprint: str,
    build: Build,
    parent: str | None = None,
    packages: Iterable[str] = (),
    resumable: bool = False,
) -> Artifact:
    """Return the artifact with this fingerprint, computing it with `build` only if it does not exist yet.

    `build` writes its files to staging paths and returns the sidecar's fields. Files get their final names
    only after `build` succeeds, under the dataset lock, and the sidecar is written last: an artifact
    without a sidecar is not listed, so a crash never leaves a visible half-artifact.
    """
    if existing := ds.find(kind, fingerprint):
        return Artifact(kind, existing.id, existing, reused=True).announce()
    if _REUSE_ONLY.get():
        raise NotBuilt(f"{kind} {fingerprint}")
    with ds.work_lock(f"{kind}-{fingerprint}"):
        if existing := ds.find(kind, fingerprint):  # another process finished it while we waited
            return Artifact(kind, existing.id, existing, reused=True).announce()
        staging = Staging(ds.staging_folder(kind), f"{kind}-{fingerprint}")
        started = time.perf_counter()
        try:
            record = build(staging)
        except BaseException:
            if not resumable:
                staging.discard()
            raise
        wall_time = round(time.perf_counter() - started, 3)
        with ds.lock():
            artifact_id = ds.claim_id(kind, parent)
            for suffix, staged in staging.files.items():
                publish_file(staged, ds.file(kind, artifact_id, suffix))
            sidecar: Sidecar = sidecars.of_kind(
                kind,
                {
                    "id": artifact_id,
                    **record,
                    "fingerprint": fingerprint,
                    "wall_time_s": wall_time,
                    "created_at": now_iso(),
                    "versions": package_versions(["ls-pipeline", "numpy", *packages]),
                    # where it was computed (what picked the kernels); never in the fingerprint: another CPU
                    # reuses this artifact, since it stands for the same inputs and parameters
                    "cpu": cpu_record(),
                },
            )
            sidecar.write(ds.file(kind, artifact_id, SIDECAR), create=True)
            ds.release_claim(kind, artifact_id)
    return Artifact(kind, artifact_id, sidecar, reused=False).announce()


def publish_file(staged: Path, target: Any) -> None:
    """Give a staged file its final name: a rename locally, an upload (then the local copy goes) remotely."""
    publish(staged, target)
    staged.unlink(missing_ok=True)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def package_versions(names: Iterable[str]) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
