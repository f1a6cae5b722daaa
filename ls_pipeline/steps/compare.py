"""Two scopes of one dataset compared through the data directory: each scope's cluster column read in ls_index
order, then the pure overlap of ls_pipeline/stages/compare.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ls_pipeline.stages import compare as compare_stage
from ls_pipeline.store.layout import DELETED
from ls_pipeline.store.scope_rows import read_parts


def scope_clusters(parts: tuple[Path, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The cluster of each row of a scope in ls_index order, and its removed flag; `parts` are the files its rows
    are read from (store/scope_rows.py: ours, or Latent Scope's)."""
    table = read_parts(parts, columns=["ls_index", "cluster", DELETED])
    order = np.argsort(table.column("ls_index").to_numpy())
    has = DELETED in table.column_names
    deleted = table.column(DELETED).to_numpy(zero_copy_only=False) if has else np.zeros(len(order))
    return table.column("cluster").to_numpy()[order], np.asarray(deleted, dtype=bool)[order]


def cluster_overlap(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray], include_removed: bool
) -> tuple[int, list[dict[str, Any]], dict[int, dict[str, Any]]]:
    """(rows compared, every pair of clusters sharing rows, each cluster of a's best match in b) for two scopes'
    `scope_clusters`; rows removed in either are left out unless `include_removed`."""
    (ca, da), (cb, db) = a, b
    keep = None if include_removed else ~(da | db)
    pairs = compare_stage.cluster_overlap(ca, cb, keep)
    return int(len(ca) if keep is None else keep.sum()), pairs, compare_stage.best_match(pairs)
