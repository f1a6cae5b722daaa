"""Two scopes of one dataset compared through the data directory: each scope's cluster column read in ls_index
order, then the pure overlap of ls_pipeline/stages/compare.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ls_pipeline.stages import compare as compare_stage
from ls_pipeline.store.files import column_names, read_arrow
from ls_pipeline.store.layout import DELETED


def scope_clusters(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The cluster of each row of a scope's table in ls_index order, and its removed flag."""
    columns = ["ls_index", "cluster", *([DELETED] if DELETED in column_names(path) else [])]
    table = read_arrow(path, columns=columns)
    order = np.argsort(table.column("ls_index").to_numpy())
    deleted = table.column(DELETED).to_numpy(zero_copy_only=False) if DELETED in columns else np.zeros(len(order))
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
