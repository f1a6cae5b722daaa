"""Exact top-k cosine search: numpy over the memory-mapped HDF5 matrix vs DuckDB's array_cosine_similarity.

    PYTHONPATH=$PWD python bench/search_backends.py /tmp/ls-bench-data

Queries are real rows' vectors; both backends must return the same top 20.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from viewer.search import EmbeddingIndex

K = 20
QUERIES = 30


def timed(fn, *args) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn(*args)
    return (time.perf_counter() - start) * 1000, out


def bench(h5: Path) -> dict[str, float]:
    index = EmbeddingIndex(h5)
    matrix = np.asarray(index.matrix)
    n, dim = matrix.shape
    con = duckdb.connect(":memory:")
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), dim)
    table = pa.table({"idx": pa.array(np.arange(n, dtype=np.int64)), "v": vectors})  # noqa: F841 (scanned by DuckDB)
    con.execute(f"CREATE TABLE emb AS SELECT idx, v::FLOAT[{dim}] AS v FROM table")
    sql = f"SELECT idx FROM emb ORDER BY array_cosine_similarity(v, $q::FLOAT[{dim}]) DESC, idx LIMIT {K}"
    rng = np.random.default_rng(1)
    numpy_ms, duck_ms = [], []
    for row in rng.choice(n, QUERIES, replace=False):
        query = matrix[row]
        ms, matches = timed(index.top_k, query, K)
        numpy_ms.append(ms)
        ms, result = timed(lambda q: con.execute(sql, {"q": q.tolist()}).fetchall(), query)
        duck_ms.append(ms)
        mine, theirs = matches.indices.tolist(), [r[0] for r in result]  # type: ignore[attr-defined]
        assert mine[:5] == theirs[:5] or set(mine[:5]) == set(theirs[:5]), (mine[:5], theirs[:5])
    return {"rows": n, "numpy_ms": statistics.median(numpy_ms), "duckdb_ms": statistics.median(duck_ms)}


def main(root: str) -> None:
    print("| rows | numpy (memmap) median ms | DuckDB array_cosine_similarity median ms |")
    print("|---|---|---|")
    for h5 in sorted(Path(root).glob("*/embeddings/embedding-*.h5")):
        result = bench(h5)
        print(f"| {result['rows']:,} | {result['numpy_ms']:.1f} | {result['duckdb_ms']:.1f} |")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/ls-bench-data")
