"""A scope's rows and cluster list as every Latent Scope version left them, in the shape the viewer reads.

Ours and Latent Scope's since 0.2 keep the rows in scopes/scopes-NNN.parquet (x, y, cluster, raw_cluster, label,
ls_index; `deleted` since 0.5) and the clusters in the scope JSON's cluster_labels_lookup. Older ones are completed
in memory, nothing written: 0.1.9's parquet has no ls_index (row position is one); before that a scope is its JSON
alone and its rows come from the projection, clustering and labels files it names (the older README's
clusters/clusters-001.parquet among them). Latent Scope's lookups have no `count`: it is counted here, without the
rows a curator deleted.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pyarrow as pa

from ls_pipeline.errors import NotFound
from ls_pipeline.store.datadir import Dataset
from ls_pipeline.store.files import Version, column_names, read_arrow, version
from ls_pipeline.store.layout import CLUSTER, DELETED, SCOPE, TABLE, UMAP
from ls_pipeline.store.sidecars import ScopeSidecar

LS_INDEX = "ls_index"
DEFAULT_LABELS = "default"  # Latent Scope's cluster_labels_id for a clustering's own labels


def parts(ds: Dataset, sidecar: ScopeSidecar) -> tuple[Any, ...]:
    """The files a scope's rows are read from: its parquet, else (before 0.1.9) the files its JSON names."""
    own = ds.file(SCOPE, sidecar.id, TABLE)
    if own.is_file():
        return (own,)
    return ds.file(UMAP, sidecar.umap_id, TABLE), ds.file(CLUSTER, sidecar.cluster_id, TABLE), labels_path(ds, sidecar)


def is_complete(ds: Dataset, sidecar: ScopeSidecar) -> bool:
    """Whether the scope's own parquet holds ls_index (then readers may read that file directly)."""
    found = parts(ds, sidecar)
    return len(found) == 1 and LS_INDEX in _column_names(found[0], parts_version(found)[0])


def parts_version(found: tuple[Any, ...]) -> Version:
    """What changes when any of the files changes; NotFound naming the missing ones."""
    try:
        return tuple(version(p) for p in found)
    except FileNotFoundError:
        missing = ", ".join(p.name for p in found if not p.is_file())
        raise NotFound(f"a scope lacks {missing}; make the scope again") from None


def read_rows(ds: Dataset, sidecar: ScopeSidecar, columns: list[str] | None = None) -> pa.Table:
    """The scope's rows, with ls_index (and deleted where the scope has it): `columns` of them, or all."""
    return read_parts(parts(ds, sidecar), columns)


def read_parts(found: tuple[Any, ...], columns: list[str] | None = None) -> pa.Table:
    """The rows of a scope from the files `parts` named (a scope's own parquet: only `columns` of it are read)."""
    versions = parts_version(found)
    if len(found) == 1:
        names = _column_names(found[0], versions[0])
        table = read_arrow(found[0], None if columns is None else [c for c in columns if c in names])
    else:
        table = _assembled(found, versions)
    if LS_INDEX not in table.column_names and (columns is None or LS_INDEX in columns):
        # Latent Scope 0.1.9 and earlier: one row per input row, in order
        table = table.append_column(LS_INDEX, pa.array(np.arange(table.num_rows, dtype=np.int64)))
    return table if columns is None else table.select([c for c in columns if c in table.column_names])


def labels_path(ds: Dataset, sidecar: ScopeSidecar) -> Any:
    labels_id = sidecar.cluster_labels_id or DEFAULT_LABELS
    if labels_id == DEFAULT_LABELS:
        labels_id = f"{sidecar.cluster_id}-labels-{DEFAULT_LABELS}"
    return ds.file(CLUSTER, labels_id, TABLE)


def lookup(ds: Dataset, sidecar: ScopeSidecar) -> list[dict[str, Any]]:
    """The scope's clusters, each with its count: the JSON's lookup (built from its labels file when the JSON has
    none), counted from the rows where the lookup does not say."""
    given = sidecar.cluster_labels_lookup or _labels_lookup(*_labels_file(ds, sidecar))
    if all("count" in c for c in given):
        return given
    rows = read_rows(ds, sidecar, ["cluster", DELETED])
    clusters = rows.column("cluster").to_numpy()
    if DELETED in rows.column_names:
        clusters = clusters[~np.asarray(rows.column(DELETED).fill_null(False).to_numpy(zero_copy_only=False), bool)]
    ids, counts = np.unique(clusters, return_counts=True)
    count_of = dict(zip(ids.tolist(), counts.tolist(), strict=True))
    return [{**c, "count": int(c.get("count", count_of.get(int(c["cluster"]), 0)))} for c in given]


@lru_cache(maxsize=64)
def _column_names(path: Any, _version: Version) -> tuple[str, ...]:
    try:
        return tuple(column_names(path))
    except pa.ArrowException as exc:  # pyarrow's message leaves out the file, which the operator needs
        raise OSError(f"cannot read {path}: {exc}") from exc


def _labels_file(ds: Dataset, sidecar: ScopeSidecar) -> tuple[Any, Version]:
    path = labels_path(ds, sidecar)
    try:
        return path, version(path)
    except FileNotFoundError:
        raise NotFound(f"scope {sidecar.id!r} of dataset {ds.name!r} has no cluster list and no {path.name}") from None


@lru_cache(maxsize=4)
def _assembled(found: tuple[Any, ...], _version: Version) -> pa.Table:
    """The rows of a scope that is only its JSON (Latent Scope before 0.1.9), as its scope.py later built them."""
    umap, clusters, labels = found
    xy, assigned = read_arrow(umap, ["x", "y"]), read_arrow(clusters)
    if xy.num_rows != assigned.num_rows:
        raise NotFound(f"{umap.name} and {clusters.name} differ in length; make the scope again")
    names = read_arrow(labels, ["label"]).column("label").to_pylist()
    cluster = assigned.column("cluster").to_numpy()
    raw = assigned.column("raw_cluster") if "raw_cluster" in assigned.column_names else assigned.column("cluster")
    return pa.table(
        {
            "x": xy.column("x"),
            "y": xy.column("y"),
            "cluster": assigned.column("cluster"),
            "raw_cluster": raw,
            "label": pa.array([names[c] if 0 <= c < len(names) else None for c in cluster.tolist()], pa.string()),
        }
    )


@lru_cache(maxsize=8)
def _labels_lookup(path: Any, _version: Version) -> list[dict[str, Any]]:
    """A labels table as a lookup (what Latent Scope's scope.py puts in the JSON since 0.2): row i is cluster i."""
    table = read_arrow(path)
    out = []
    for cluster, row in enumerate(table.to_pylist()):
        entry = {"cluster": cluster, "label": row.get("label"), "description": row.get("description") or ""}
        entry["hull"] = [int(i) for i in row.get("hull") or []]
        if row.get("indices") is not None:
            entry["count"] = len(row["indices"])
        out.append(entry)
    return out
