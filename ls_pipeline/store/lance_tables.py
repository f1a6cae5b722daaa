"""Latent Scope 1.0's LanceDB tables, read with the Lance format package (pylance), never written.

An embedding's table (lancedb/emb-embedding-001.lance) holds `ls_index` int64 and `vector`, a fixed-size list of
float32, one row per input row, appended batch by batch (so in no promised order). A scope's table
(lancedb/scopes-001.lance) holds the scope's rows with their input columns, keyed by `index`, and the same vectors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ls_pipeline.errors import UserError
from ls_pipeline.store.layout import LANCE_SUFFIX
from ls_pipeline.store.location import is_remote

VECTOR = "vector"
KEYS = ("ls_index", "index")  # an embedding's table, a scope's table


def is_lance_table(path: Any) -> bool:
    return str(path).endswith(LANCE_SUFFIX)


def lance_shape(path: Path) -> tuple[int, int]:
    """(rows, dimensions) of a table's vectors, from its metadata."""
    dataset, _ = _open(path)
    return dataset.count_rows(), int(dataset.schema.field(VECTOR).type.list_size)


def read_lance_vectors(path: Path) -> np.ndarray:
    """The float32 matrix [rows, dim] of a table, row i holding ls_index i."""
    dataset, key = _open(path)
    table = dataset.to_table(columns=[key, VECTOR])
    index = table.column(key).to_numpy()
    order = np.argsort(index, kind="stable")
    if not np.array_equal(index[order], np.arange(len(index))):
        raise UserError(
            f"LanceDB table {path.name} does not hold exactly one vector for each row 0..{len(index) - 1} (an "
            "embedding Latent Scope did not finish?); re-run that embedding in Latent Scope, or embed anew here"
        )
    vectors = table.column(VECTOR).combine_chunks()
    flat = vectors.flatten().to_numpy(zero_copy_only=False)
    matrix = flat.reshape(len(index), -1).astype(np.float32, copy=False)
    return np.ascontiguousarray(matrix[order])


def _open(path: Path) -> tuple[Any, str]:
    """The Lance dataset and the name of its row key column."""
    if is_remote(path):
        raise UserError(
            f"LanceDB table {path.name} is on object storage, where only our HDF5 vectors are read; serve Latent "
            "Scope's data directory from a local folder"
        )
    import lance  # slow to import: only paid where Latent Scope's tables are read

    dataset = lance.dataset(str(path))
    names = dataset.schema.names
    key = next((k for k in KEYS if k in names), None)
    if key is None or VECTOR not in names:
        raise UserError(f"LanceDB table {path.name} has no {KEYS[0]} and {VECTOR} columns; it holds no embedding")
    return dataset, key
