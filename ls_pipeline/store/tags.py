"""Tag edits: tags/<tag>.indices stays Latent Scope's format (one ls_index a line), each replaced atomically, and
every edit is first appended to tags/_history.jsonl with the tag's rows before and after, so that nothing is lost
(a deleted tag's rows stay in the history) and the last edit can be undone.

Every function takes the dataset's lock and checks everything before it writes anything: a refused edit changes
nothing on disk.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ls_pipeline.errors import Conflict, NotFound, UserError
from ls_pipeline.store import atomic
from ls_pipeline.store.datadir import Dataset
from ls_pipeline.store.location import is_remote
from ls_pipeline.store.tag_names import check_tag_name

State = dict[str, list[int] | None]  # tag -> its sorted rows, or None where the tag does not exist
UNDO = "undo"


def read(ds: Dataset, tag: str) -> list[int] | None:
    """The tag's sorted, distinct rows, or None when there is no such tag."""
    path = ds.tag_path(tag)
    if not path.is_file():
        return None
    return read_indices(path)


def read_indices(path: Path) -> list[int]:
    """The sorted, distinct ls_index values of a `.indices` file (one a line, blank lines ignored); a line that is
    not one names the file and the line, rather than being dropped, so a damaged tag is noticed before it is edited.
    """
    values = set()
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if not line.isdigit():
            shown = repr(line) if len(repr(line)) <= 60 else repr(line)[:57] + "..."
            raise UserError(f"tag file {path.name} line {number} is not an ls_index: {shown}; fix or delete that line")
        values.add(int(line))
    return sorted(values)


def history(ds: Dataset) -> list[dict[str, Any]]:
    """Every edit, oldest first."""
    path = ds.tag_history_path
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def create(ds: Dataset, tag: str) -> dict[str, Any]:
    with ds.lock():
        _absent(ds, tag)
        return _commit(ds, {"op": "create", "tag": tag}, {tag: None}, {tag: []})


def rename(ds: Dataset, tag: str, to: str) -> dict[str, Any]:
    with ds.lock():
        rows = _present(ds, tag)
        _absent(ds, to)
        return _commit(ds, {"op": "rename", "tag": tag, "to": to}, {tag: rows, to: None}, {tag: None, to: rows})


def delete(ds: Dataset, tag: str) -> dict[str, Any]:
    with ds.lock():
        rows = _present(ds, tag)
        return _commit(ds, {"op": "delete", "tag": tag}, {tag: rows}, {tag: None})


def change(ds: Dataset, tag: str, add: Iterable[int] = (), remove: Iterable[int] = ()) -> dict[str, Any]:
    """Add rows to a tag and remove others; `added` and `removed` in the entry are what actually changed."""
    with ds.lock():
        rows = _present(ds, tag)
        have, plus, minus = set(rows), set(add), set(remove)
        after = sorted((have | plus) - minus)
        edit = {"op": "change", "tag": tag, "added": sorted(plus - have - minus), "removed": sorted(have & minus)}
        return _commit(ds, edit, {tag: rows}, {tag: after})


def undo(ds: Dataset) -> dict[str, Any]:
    """Revert the newest edit not yet undone (so undo again goes one further back); NotFound when there is none."""
    with ds.lock():
        entries = history(ds)
        undone = {e["undoes"] for e in entries if e["op"] == UNDO}
        target = next((e for e in reversed(entries) if e["op"] != UNDO and e["seq"] not in undone), None)
        if target is None:
            raise NotFound(f"dataset {ds.name!r} has no tag edit to undo")
        now = {tag: read(ds, tag) for tag in target["after"]}
        if now != target["after"]:
            raise Conflict(f"a tag of edit {target['seq']} changed outside the viewer since; undo it by hand")
        edit = {"op": UNDO, "undoes": target["seq"], "tag": target["tag"], "what": target["op"]}
        return _commit(ds, edit, target["after"], target["before"])


def _present(ds: Dataset, tag: str) -> list[int]:
    rows = read(ds, check_tag_name(tag))
    if rows is None:
        raise NotFound(f"unknown tag {tag!r} in dataset {ds.name!r}")
    return rows


def _absent(ds: Dataset, tag: str) -> None:
    if read(ds, check_tag_name(tag)) is not None:
        raise Conflict(f"dataset {ds.name!r} already has a tag {tag!r}")


def _commit(ds: Dataset, edit: dict[str, Any], before: State, after: State) -> dict[str, Any]:
    """Append the entry, then write each tag: the history always knows the rows a write replaced."""
    entries = history(ds)
    at = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
    entry = {"seq": (entries[-1]["seq"] + 1) if entries else 1, "at": at, **edit, "before": before, "after": after}
    _append(ds, entry)
    for tag, rows in after.items():
        if rows is None:
            ds.tag_path(tag).unlink(missing_ok=True)
        else:
            atomic.write_bytes(ds.tag_path(tag), "".join(f"{i}\n" for i in rows).encode())
    return entry


def _append(ds: Dataset, entry: dict[str, Any]) -> None:
    path = ds.tag_history_path
    line = json.dumps(entry, separators=(",", ":")) + "\n"
    if is_remote(path):
        # Object stores cannot append: the history is rewritten whole, safe because every caller holds the
        # dataset's lock (a lease there), and replaced in one PUT, so a reader sees the old or the new file.
        before = path.read_bytes() if path.is_file() else b""
        atomic.write_bytes(path, before + line.encode())
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())
