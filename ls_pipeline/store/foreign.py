"""Artifacts another tool wrote (Latent Scope itself): sidecars and a meta.json without our fingerprint.

They are read as they are and never rewritten. Where our code needs a fingerprint (to chain a new artifact to
one of theirs, to see that theirs changed), it takes one derived from what is on disk: the sidecar's JSON, the
input rows' bytes. A derived fingerprint starts with FOREIGN, so it never equals one of ours.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from ls_pipeline.store.files import Version, version

FOREIGN = "foreign-"
FINGERPRINT = "fingerprint"
_BLOCK = 1 << 20


def is_foreign(raw: Mapping[str, Any]) -> bool:
    """A sidecar or meta.json we did not write: every one of ours records a fingerprint."""
    return not raw.get(FINGERPRINT)


def sidecar_fingerprint(raw: Mapping[str, Any]) -> str:
    """Ours as written, else one derived from the foreign sidecar's own JSON (it changes when they rewrite it)."""
    if not is_foreign(raw):
        return str(raw[FINGERPRINT])
    blob = json.dumps(raw, sort_keys=True, default=str).encode()
    return FOREIGN + hashlib.sha256(blob).hexdigest()[:20]


def file_fingerprint(path: Any) -> str:
    """A fingerprint of a file's bytes (a foreign dataset's input.parquet), computed once per file version."""
    return _file_fingerprint(path, version(path))


@lru_cache(maxsize=16)
def _file_fingerprint(path: Any, _version: Version) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return FOREIGN + digest.hexdigest()[:20]
