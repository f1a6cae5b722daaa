"""Exact top-k cosine search: numpy over the memory-mapped HDF5 matrix vs DuckDB's array_cosine_similarity.

    PYTHONPATH=$PWD python bench/search_backends.py /tmp/ls-bench-data

Queries are real rows' vectors (deb10k from bench/viewer_data.py, and that matrix tiled to 100k); both backends must
return the same top-20 scores.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import h5py
import numpy as np
import pyarrow as pa

from bench.machine import machine_line
from viewer.search import EmbeddingIndex

K = 20
QUERIES = 30


def timed(fn, *args) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn(*args)
    return (time.perf_counter() - start) * 1000, out


def bench(h5: Path) -> dict[str, float]:
    index = EmbeddingIndex.open(h5)
    matrix = np.asarray(index.matrix)
    n, dim = matrix.shape
    con = duckdb.connect(":memory:")
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), dim)
    frame = pa.table({"idx": pa.array(np.arange(n, dtype=np.int64)), "v": vectors})  # noqa: F841 (scanned by DuckDB)
    con.execute(f"CREATE TABLE emb AS SELECT idx, v::FLOAT[{dim}] AS v FROM frame")
    sql = f"SELECT idx, array_cosine_similarity(v, $q::FLOAT[{dim}]) AS s FROM emb ORDER BY s DESC, idx LIMIT {K}"
    rng = np.random.default_rng(1)
    numpy_ms, duck_ms = [], []
    for row in rng.choice(n, QUERIES, replace=False):
        query = matrix[row]
        ms, matches = timed(index.top_k, query, K)
        numpy_ms.append(ms)
        ms, result = timed(lambda q: con.execute(sql, {"q": q.tolist()}).fetchall(), query)
        duck_ms.append(ms)
        # Real data has duplicate texts (equal vectors), so compare the ranked scores, not tie order.
        mine, theirs = matches.scores, np.array([r[1] for r in result])  # type: ignore[attr-defined]
        assert np.allclose(mine, theirs, atol=1e-5), (mine[:5], theirs[:5])
    return {"rows": n, "numpy_ms": statistics.median(numpy_ms), "duckdb_ms": statistics.median(duck_ms)}


def tiled(h5: Path, times: int, out: Path) -> Path:
    """The same real vectors repeated: a bigger matrix without embedding more rows."""
    with h5py.File(h5, "r") as handle:
        matrix = np.asarray(handle["embeddings"][...])
    with h5py.File(out, "w") as handle:
        handle.create_dataset("embeddings", data=np.tile(matrix, (times, 1)))
    return out


def main(root: str) -> None:
    print(machine_line(), flush=True)
    print("| rows | numpy (memmap) median ms | DuckDB array_cosine_similarity median ms |")
    print("|---|---|---|")
    h5 = Path(root) / "deb10k" / "embeddings" / "embedding-001.h5"
    with tempfile.TemporaryDirectory() as tmp:
        for path in (h5, tiled(h5, 10, Path(tmp) / "tiled.h5")):
            result = bench(path)
            print(f"| {result['rows']:,} | {result['numpy_ms']:.1f} | {result['duckdb_ms']:.1f} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/ls-bench-data")
