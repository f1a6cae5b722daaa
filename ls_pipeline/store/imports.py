"""Imports that arrive through the inbox (a hosted upload, a dropped X archive): where their files go, and how far
one has come on its way to a scope, read from the data directory alone (the viewer has no Dagster to ask).

An upload waits in the inbox as NAME.tweets.json (privacy mode) or NAME.zip (the whole archive); the inbox sensor
ingests it (the file stays, its key in the sensor's cursor), the ingest records a batch in NAME/imports.json, and
the default recipe's artifacts follow. A file the sensor refuses, or a run that fails or times out, leaves a
one-line note in _inbox/_rejected/.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from ls_pipeline.store import atomic, layout
from ls_pipeline.store.artifacts import now_iso
from ls_pipeline.store.datadir import DataDir, Dataset
from ls_pipeline.store.layout import NOTE_SUFFIX
from ls_pipeline.store.layout import REJECTED as REJECTED  # re-exported: the inbox moves refused files there

UPLOAD_SUFFIXES = (".tweets.json", ".zip")
STATES = ["queued", "embedding", "projecting", "clustering", "labeling", "saving the scope", "ready", "failed"]
# The chain from rows to scope: each kind, and what is being made while it is missing
CHAIN = (
    (layout.EMBEDDING, "embedding"),
    (layout.UMAP, "projecting"),
    (layout.CLUSTER, "clustering"),
    (layout.LABELS, "labeling"),
    (layout.SCOPE, "saving the scope"),
)


def record_import(ds: Dataset, batch: dict[str, Any]) -> None:
    """Append one batch to the dataset's import manifest (rows, added, changed, total, fingerprint)."""
    atomic.write_json(ds.imports_path, [*read_batches(ds), {**batch, "imported_at": now_iso()}])


def read_batches(ds: Dataset) -> list[dict[str, Any]]:
    return json.loads(ds.imports_path.read_text(encoding="utf-8")) if ds.imports_path.is_file() else []


def is_import(ds: Dataset) -> bool:
    """A dataset made by an upserting import (it has a manifest), not by ingesting a file."""
    return ds.imports_path.is_file()


def upload_path(data: DataDir, name: str, suffix: str) -> Path:
    return data.inbox / f"{name}{suffix}"


def pending_upload(data: DataDir, name: str) -> Path | None:
    """The newest inbox file of an import by this name (ingested files stay in the inbox)."""
    found = [p for s in UPLOAD_SUFFIXES if (p := upload_path(data, name, s)).is_file()]
    return max(found, key=lambda p: p.stat().st_mtime_ns, default=None)


def note_path(data: DataDir, file_name: str) -> Path:
    return data.note_path(file_name)


def write_note(data: DataDir, file_name: str, reason: str) -> Path:
    """One line saying why this inbox file did not become a scope (a later note replaces an earlier one)."""
    path = note_path(data, file_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(path, (" ".join(reason.split()) + "\n").encode())
    return path


def notes(data: DataDir, name: str) -> list[Path]:
    """Notes about this import's files: NAME.zip.error.txt, or the dated names a second rejection gets."""
    folder = data.rejected
    if not folder.is_dir():
        return []
    forms = []
    for suffix in UPLOAD_SUFFIXES:
        stem, last = (name + suffix).rsplit(".", 1)[0], "." + suffix.rsplit(".", 1)[1]
        forms.append(re.escape(name + suffix))
        forms.append(rf"{re.escape(stem)}-\d{{8}}-\d{{6}}-\d+{re.escape(last)}")
    pattern = re.compile(rf"^(?:{'|'.join(forms)}){re.escape(NOTE_SUFFIX)}$")
    return [p for p in folder.iterdir() if pattern.match(p.name)]


def import_status(data: DataDir, name: str) -> dict[str, Any] | None:
    """{"state": queued | embedding | projecting | clustering | labeling | saving the scope | ready | failed, ...};
    None when there is no such import."""
    upload = pending_upload(data, name)
    uploaded_at = upload.stat().st_mtime if upload else None
    note = max(notes(data, name), key=lambda p: p.stat().st_mtime_ns, default=None)
    if note and (uploaded_at is None or note.stat().st_mtime >= math.floor(uploaded_at)):
        message = note.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return {"name": name, "state": "failed", "message": message[0] if message else "the import failed"}
    if upload is None or uploaded_at is None:
        return None
    status: dict[str, Any] = {"name": name, "state": "queued", "uploaded_at": _iso(uploaded_at)}
    ds = Dataset(data.root / name)
    batch = _batch_since(ds, math.floor(uploaded_at))
    if batch is None:
        return status
    status.update(rows=batch.get("total"), added=batch.get("added"), changed=batch.get("changed", 0))
    return {**status, **_progress(ds, str(batch["fingerprint"]))}


def _batch_since(ds: Dataset, since: float) -> dict[str, Any] | None:
    done = [b for b in read_batches(ds) if datetime.fromisoformat(b["imported_at"]).timestamp() >= since]
    return done[-1] if done else None


def _progress(ds: Dataset, rows_fingerprint: str) -> dict[str, Any]:
    """The first stage of the chain with nothing made from these rows yet; ready once a scope is."""
    parents = {s.id for s in ds.sidecars("embedding") if s.inputs.get("dataset") == rows_fingerprint}
    for kind, state in CHAIN:
        if kind.parent_key is not None:
            parents = {s.id for s in ds.sidecars(kind.name) if getattr(s, kind.parent_key) in parents}
        if not parents:
            return {"state": state}
    return {"state": "ready", "scope": sorted(parents)[-1]}


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds")


# ---- who may re-import: the first uploader's secret, kept only as a hash ---------------------------------------------


def has_owner(data: DataDir, name: str) -> bool:
    return data.import_secret_path(name).is_file()


def is_claimed(data: DataDir, name: str) -> bool:
    """Something was imported by this name already: a secret, an inbox file or a dataset."""
    return (
        has_owner(data, name) or pending_upload(data, name) is not None or data.dataset(name, False).meta_path.exists()
    )


def secret_matches(data: DataDir, name: str, secret: str) -> bool:
    path = data.import_secret_path(name)
    if not path.is_file() or not secret:
        return False
    return hmac.compare_digest(path.read_text(encoding="ascii").strip(), _digest(secret))


def claim(data: DataDir, name: str) -> str | None:
    """A new secret for a name nobody owns yet, its hash written create-only (of two racing uploads one wins, on
    a local disk or a bucket); None when another upload claimed it first."""
    secret = secrets.token_urlsafe(24)
    try:
        atomic.write_bytes(data.import_secret_path(name), (_digest(secret) + "\n").encode("ascii"), create=True)
    except atomic.AlreadyExists:
        return None
    return secret


def _digest(secret: str) -> str:
    # The secret is 192 random bits: a plain SHA-256 cannot be reversed or guessed, no slow hash needed.
    return hashlib.sha256(secret.encode()).hexdigest()
