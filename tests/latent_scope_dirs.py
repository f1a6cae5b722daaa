"""Data directories shaped as Latent Scope writes them, without the latentscope package.

`latent_scope_1` follows latentscope 1.0's scripts: vectors in a LanceDB table appended batch by batch (Lance
format, the schema of util/embedding_store.py), a scope parquet with tile indices and `deleted`, the scope joined
to its input, a scope table in LanceDB, and its default emoji tags. `latent_scope_0` follows the older README: HDF5
vectors written in growing chunks, clusters/clusters-001.parquet, and a scope that is its JSON alone. Projections
and clusters are simple stand-ins (what matters is the files' shape); the vectors are given, from the real model.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import lance
import numpy as np
import pandas as pd
import pyarrow as pa

LS1_MODEL = "huggingface-sentence-transformers___all-MiniLM-L6-v2"
LS0_MODEL = "transformers-sentence-transformers___all-MiniLM-L6-v2"
DELETED_ROWS = [0, 1, 2, 3]
TAGS = {"👍": [3, 5, 8, 13, 21], "👎": [], "❤️": [1, 2]}


def layout_of(vectors: np.ndarray, sections: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x, y in [-1, 1] (two principal axes), a cluster per row (its section among the 6 largest, else noise -1
    then assigned to cluster 0), and the raw clusters."""
    centered = vectors - vectors.mean(axis=0)
    axes = np.linalg.svd(centered, full_matrices=False)[2][:2]
    xy = centered @ axes.T
    xy = (xy / np.abs(xy).max(axis=0)).astype(np.float32)
    top = list(sections.value_counts().index[:6])
    raw = np.array([top.index(s) if s in top else -1 for s in sections], dtype=np.int64)
    return xy, np.where(raw < 0, 0, raw), raw


def labels_table(cluster: np.ndarray, names: list[str]) -> pd.DataFrame:
    rows = []
    for c, name in enumerate(names):
        members = np.flatnonzero(cluster == c)
        rows.append({"label": name, "description": f"This is cluster {c} with {len(members)} items.",
                     "indices": members.tolist(), "hull": members[:4].tolist()})  # fmt: skip
    return pd.DataFrame(rows)


def _meta(name: str, frame: pd.DataFrame) -> dict[str, object]:
    columns = {c: {"type": "string", "unique_values_count": int(frame[c].nunique())} for c in frame.columns}
    return {"id": name, "length": len(frame), "columns": list(frame.columns), "text_column": "text",
            "column_metadata": columns}  # fmt: skip


def _json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False), encoding="utf-8")


def _vector_column(vectors: np.ndarray) -> pa.FixedSizeListArray:
    flat = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1)
    return pa.FixedSizeListArray.from_arrays(pa.array(flat, pa.float32()), vectors.shape[1])


def _tags(ds: Path, tags: dict[str, list[int]]) -> None:
    (ds / "tags").mkdir(parents=True, exist_ok=True)
    for name, rows in tags.items():  # as numpy.savetxt(fmt="%d") writes them
        (ds / "tags" / f"{name}.indices").write_text("".join(f"{r}\n" for r in rows), encoding="utf-8")


def latent_scope_1(root: Path, frame: pd.DataFrame, vectors: np.ndarray, name: str = "peer") -> Path:
    """A dataset after latentscope 1.0's ls-ingest, ls-embed, ls-umap, ls-cluster, ls-scope, tags and a deletion."""
    ds = root / name
    ds.mkdir(parents=True)
    frame.to_parquet(ds / "input.parquet")
    _json(ds / "meta.json", _meta(name, frame))
    table = ds / "lancedb" / "emb-embedding-001.lance"
    for n, start in enumerate([200, 0, 100]):  # appended one batch at a time, in no promised order
        rows = np.arange(start, min(start + 100, len(frame)))
        batch = pa.table({"ls_index": pa.array(rows, pa.int64()), "vector": _vector_column(vectors[rows])})
        lance.write_dataset(batch, str(table), mode="create" if n == 0 else "append")
    _json(ds / "embeddings" / "embedding-001.json",
          {"id": "embedding-001", "model_id": LS1_MODEL, "dataset_id": name, "text_column": "text",
           "input_type": "text", "dimensions": int(vectors.shape[1]), "max_seq_length": None, "prefix": "",
           "task": None, "late_interaction": False, "min_values": vectors.min(axis=0).tolist(),
           "max_values": vectors.max(axis=0).tolist(), "token_stats": None})  # fmt: skip
    xy, cluster, raw = layout_of(vectors, frame["section"])
    _mk(ds / "umaps")
    pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]}).to_parquet(ds / "umaps" / "umap-001.parquet")
    _json(ds / "umaps" / "umap-001.json", {"id": "umap-001", "embedding_id": "embedding-001", "neighbors": 25,
                                          "min_dist": 0.1, "dimensions": 2})  # fmt: skip
    _mk(ds / "clusters")
    pd.DataFrame({"cluster": cluster, "raw_cluster": raw}).to_parquet(ds / "clusters" / "cluster-001.parquet")
    names = [f"Cluster {c}" for c in range(6)]
    labels = labels_table(cluster, names)
    labels.to_parquet(ds / "clusters" / "cluster-001-labels-default.parquet")
    _json(ds / "clusters" / "cluster-001.json", {"id": "cluster-001", "umap_id": "umap-001", "method": "hdbscan",
                                                "samples": 15, "min_samples": 5, "n_clusters": 6})  # fmt: skip
    _scope_1(ds, name, frame, vectors, xy, cluster, raw, labels)
    _tags(ds, TAGS)
    return ds


def _scope_1(ds: Path, name: str, frame: pd.DataFrame, vectors: np.ndarray, xy: np.ndarray, cluster: np.ndarray,
             raw: np.ndarray, labels: pd.DataFrame) -> None:  # fmt: skip
    label_of = labels["label"].to_numpy()
    deleted = np.isin(np.arange(len(frame)), DELETED_ROWS)
    rows = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "tile_index_64": 0, "tile_index_128": 0, "cluster": cluster,
                         "raw_cluster": raw, "label": label_of[cluster], "deleted": deleted,
                         "ls_index": np.arange(len(frame))})  # fmt: skip
    _mk(ds / "scopes")
    rows.to_parquet(ds / "scopes" / "scopes-001.parquet")
    lookup = [{"label": r["label"], "description": r["description"], "hull": r["hull"], "cluster": c}
              for c, r in enumerate(labels.drop(columns=["indices"]).to_dict(orient="records"))]  # fmt: skip
    _json(ds / "scopes" / "scopes-001.json",
          {"ls_version": "1.0.0", "id": "scopes-001", "embedding_id": "embedding-001", "umap_id": "umap-001",
           "cluster_id": "cluster-001", "cluster_labels_id": "default", "label": name, "description": "LS 1.0 scope",
           "dataset": _meta(name, frame), "embedding": json.loads((ds / "embeddings/embedding-001.json").read_text()),
           "cluster_labels": {"id": "cluster-001-labels-default", "cluster_id": "cluster-001"},
           "cluster_labels_lookup": lookup, "rows": len(frame), "columns": list(rows.columns)})  # fmt: skip
    deletion = {"action": "delete_rows", "payload": {"row_ids": DELETED_ROWS}}
    _json(ds / "scopes" / "scopes-001-transactions.json", [deletion])
    joined = frame.reset_index().join(rows.set_index("ls_index"), on="index")  # no shared names: no "_ls" suffix
    joined.to_parquet(ds / "scopes" / "scopes-001-input.parquet")
    scope_table = pa.Table.from_pandas(joined, preserve_index=False).append_column("vector", _vector_column(vectors))
    lance.write_dataset(scope_table, str(ds / "lancedb" / "scopes-001.lance"))


def latent_scope_0(root: Path, frame: pd.DataFrame, vectors: np.ndarray, name: str = "old") -> Path:
    """A dataset as the older README lays it out: HDF5 vectors, clusters-001 names, a scope that is a JSON only."""
    ds = root / name
    ds.mkdir(parents=True)
    frame.to_parquet(ds / "input.parquet")
    _json(ds / "meta.json", {"id": name, "length": len(frame), "columns": list(frame.columns), "text_column": "text"})
    _mk(ds / "embeddings")
    with h5py.File(ds / "embeddings" / "embedding-001.h5", "w") as handle:  # appended batch by batch, chunked
        out = handle.create_dataset("embeddings", data=vectors[:100], maxshape=(None, vectors.shape[1]), chunks=True)
        for start in range(100, len(vectors), 100):
            out.resize(min(start + 100, len(vectors)), axis=0)
            out[start : start + 100] = vectors[start : start + 100]
    _json(ds / "embeddings" / "embedding-001.json",
          {"id": "embedding-001", "model_id": LS0_MODEL, "dataset_id": name, "text_column": "text",
           "dimensions": int(vectors.shape[1]), "prefix": ""})  # fmt: skip
    xy, cluster, raw = layout_of(vectors, frame["section"])
    _mk(ds / "umaps")
    pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]}).to_parquet(ds / "umaps" / "umap-001.parquet")
    _json(ds / "umaps" / "umap-001.json", {"id": "umap-001", "embedding_id": "embedding-001", "neighbors": 25,
                                          "min_dist": 0.1})  # fmt: skip
    _mk(ds / "clusters")
    pd.DataFrame({"cluster": cluster, "raw_cluster": raw}).to_parquet(ds / "clusters" / "clusters-001.parquet")
    labels_table(cluster, [f"Topic {c}" for c in range(6)]).to_parquet(
        ds / "clusters" / "clusters-001-labels-default.parquet"
    )
    _json(ds / "clusters" / "clusters-001.json", {"id": "clusters-001", "umap_id": "umap-001", "samples": 15,
                                                 "min_samples": 5, "n_clusters": 6})  # fmt: skip
    _json(ds / "scopes" / "scopes-001.json",
          {"id": "scopes-001", "embedding_id": "embedding-001", "umap_id": "umap-001", "cluster_id": "clusters-001",
           "cluster_labels_id": "clusters-001-labels-default", "label": "old scope", "description": "0.x"})  # fmt: skip
    _tags(ds, {"❤️": [1, 2, 3]})
    return ds


def _mk(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
