"""The inbox folder: files that appear there become datasets; files that cannot be read are moved aside."""

from __future__ import annotations

import time
from pathlib import Path

from ls_pipeline.sources.registry import dataset_name
from ls_pipeline.store import atomic
from ls_pipeline.store.datadir import DataDir
from ls_pipeline.store.files import move
from ls_pipeline.store.imports import REJECTED as REJECTED  # re-exported for the sensors' tests
from ls_pipeline.store.imports import write_note

SETTLE_S = 5.0  # a file modified more recently may still be being copied in; look at it on a later tick


def file_key(path: Path) -> str:
    """Changes when the file is replaced or rewritten: name, modification time (ns) and size."""
    stat = path.stat()
    return f"{path.name}:{stat.st_mtime_ns}:{stat.st_size}"


def reject(data: DataDir, path: Path, reason: str) -> Path:
    """Move a bad file to the inbox's rejected folder with a note beside it saying why and what to do."""
    folder = data.rejected
    folder.mkdir(parents=True, exist_ok=True)
    target, n = folder / path.name, 1
    while target.exists():  # never overwrite an earlier rejected file, even two in the same second
        target, n = folder / f"{path.stem}-{time.strftime('%Y%m%d-%H%M%S')}-{n}{path.suffix}", n + 1
    move(path, target)
    # One line: the reason (newlines folded), then what to do. No absolute paths: the folder may be shared.
    note = f"{' '.join(reason.split())}; fix the file and drop it in {data.inbox.name}/ again\n"
    atomic.write_bytes(data.note_path(target.name), note.encode())
    return target


def note_failure(data: DataDir, dataset: str, reason: str) -> Path | None:
    """After a failed run: a note beside the rejected files naming this dataset's newest inbox file, if it has one."""
    found = [p for p in data.inbox_files() if dataset_name(p) == dataset]
    if not found:
        return None
    newest = max(found, key=lambda p: p.stat().st_mtime_ns)
    return write_note(data, newest.name, reason)
