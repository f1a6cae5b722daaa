"""The candidates behind viewer/search.py's pre-filter: each row's normalized vector in 8 bits a dimension, scanned
by faiss' scalar quantizer on one thread.

Each dimension is scaled to [0, 1] by its exact minimum and maximum over the matrix and then quantized with one
range for all (faiss' `QT_8bit_uniform`), so a query's inner product with a row is, up to a constant per query,
its inner product with the query scaled by each dimension's span: ranking by that gives per-dimension 8-bit
precision at the cost of the uniform scan. At 1M x 384 (load ~9, one thread) one scan took 23 ms, against 58 ms
for faiss' per-dimension `QT_8bit` and 51-58 ms for `QT_fp16`; it reads 384 MB instead of float32's 1.5 GB.
Recall@10 after exact rescoring: bench/search_latency.py.
"""

from __future__ import annotations

import faiss
import numpy as np

# faiss' thread count is process-wide, so it is set once, here, when faiss is first imported, and not on every
# index build. One thread: the query's embedding and the rows' fetch share this machine's cores; under load 2
# threads were slower (1M rows, load ~9: 90 ms against 42 ms).
faiss.omp_set_num_threads(1)


class Prefilter:
    def __init__(self, matrix: np.ndarray, inverse_norms: np.ndarray, chunk: int = 65_536) -> None:
        """Quantize the normalized rows, reading a chunk at a time so the float32 copies made from `matrix` (mapped
        from a file) never exceed one chunk."""
        dims = matrix.shape[1]
        chunks = [(start, min(start + chunk, len(matrix))) for start in range(0, len(matrix), chunk)]
        low, high = np.full(dims, np.inf, np.float32), np.full(dims, -np.inf, np.float32)
        for start, end in chunks:
            rows = _normalized(matrix, inverse_norms, start, end)
            low, high = np.minimum(low, rows.min(axis=0)), np.maximum(high, rows.max(axis=0))
        self.low = low
        self.span = np.where(high > low, high - low, 1.0).astype(np.float32)  # a constant dimension ranks nothing
        self.index = faiss.IndexScalarQuantizer(dims, faiss.ScalarQuantizer.QT_8bit_uniform, faiss.METRIC_INNER_PRODUCT)
        self.index.train(np.stack([np.zeros(dims, np.float32), np.ones(dims, np.float32)]))  # the range [0, 1]
        for start, end in chunks:
            self.index.add((_normalized(matrix, inverse_norms, start, end) - self.low) / self.span)

    def candidates(self, query: np.ndarray, count: int) -> np.ndarray:
        """The rows of the `count` best approximate cosines to a unit-length query, in row order."""
        _, found = self.index.search((query * self.span)[None, :].astype(np.float32), count)
        return np.sort(found[0][found[0] >= 0])  # in row order: a mapped matrix then reads them in file order


def _normalized(matrix: np.ndarray, inverse_norms: np.ndarray, start: int, end: int) -> np.ndarray:
    return np.ascontiguousarray(matrix[start:end], dtype=np.float32) * inverse_norms[start:end, None]
