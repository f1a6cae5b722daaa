"""A search's k rows from an in-memory columnar copy of the scope table, instead of a DuckDB query per search.

At 100k rows the DuckDB query (the k indices and scores unnested, joined, sorted) cost 5-12 ms p50 and up to
200 ms p99 under load, most of a search request; pyarrow's `take` of the same rows costs ~0.1 ms
(bench/search_latency.py). The rows are those page_sql returns for a filter of only the query: the matches that
are in the scope and not removed, with their score, best first (ties by the lower ls_index).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from viewer.filters import REMOVED


def scored_rows(rows: pa.Table, dense: bool, columns: list[str], indices: np.ndarray, scores: np.ndarray) -> pa.Table:
    """`columns` (with "score") of the rows whose ls_index is in `indices`, from `rows`: every row of a scope table,
    sorted by ls_index, one chunk; `dense` when row i holds ls_index i."""
    wanted = np.asarray(indices, dtype=np.int64)
    ls_index = rows["ls_index"].chunk(0).to_numpy() if rows.num_rows else np.empty(0, np.int64)
    positions = wanted if dense else np.searchsorted(ls_index, wanted)
    inside = (positions >= 0) & (positions < rows.num_rows)
    inside[inside] = ls_index[positions[inside]] == wanted[inside]  # a gap in a sparse table, or past its end
    positions = positions[inside]
    found = rows.take(pa.array(positions, pa.int64()))
    found = found.append_column("score", pa.array(np.asarray(scores, dtype=np.float64)[inside]))
    found = found.filter(pc.invert(found[REMOVED]))
    order = pc.sort_indices(found, [("score", "descending"), ("ls_index", "ascending")])
    return found.take(order).select(columns)
