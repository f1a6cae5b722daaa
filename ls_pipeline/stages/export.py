"""The curated export of a scope, as Latent Scope writes scopes-NNN-export.parquet: every input column, the scope's
columns (x, y, cluster, raw_cluster, label, deleted: removed rows are flagged, not dropped) and one boolean
tag_<name> column per tag. Pure: frames in, a frame out."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ls_pipeline.stages.curate import with_deleted

CODE_VERSION = "1"
TAG_PREFIX = "tag_"


def export_table(inputs: pd.DataFrame, scope_rows: pd.DataFrame, tags: Mapping[str, Sequence[int]]) -> pd.DataFrame:
    """Rows in ls_index order; a scope column wins over an input column of the same name (as in the viewer)."""
    rows = with_deleted(scope_rows).sort_values("ls_index").reset_index(drop=True)
    if len(rows) != len(inputs):
        raise ValueError(f"the scope has {len(rows)} rows, the input {len(inputs)}; re-run the scope")
    kept = inputs[[c for c in inputs.columns if c not in rows.columns]].reset_index(drop=True)
    out = pd.concat([kept, rows], axis=1)
    for name in sorted(tags):
        flags = np.zeros(len(out), dtype=bool)
        picked = np.asarray([i for i in tags[name] if 0 <= i < len(out)], dtype=np.int64)
        flags[picked] = True
        out[TAG_PREFIX + name] = flags
    return out


def curation_fingerprint(scope_id: str, scope_fingerprint: str, tags: Mapping[str, Sequence[int]]) -> str:
    """What an export was made from: the scope version (edits make a new one) and every tag's rows."""
    record = {"scope": [scope_id, scope_fingerprint], "tags": {k: sorted(tags[k]) for k in sorted(tags)}}
    return hashlib.sha256(json.dumps(record, separators=(",", ":")).encode()).hexdigest()[:16]
