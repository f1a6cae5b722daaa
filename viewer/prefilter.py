"""The candidates behind viewer/search.py's pre-filter: each row's normalized vector as a 4-bit product code
(16 centroids for every pair of dimensions: a quarter of a byte per dimension), scanned by faiss' fast-scan kernel
on one thread.

The fast scan keeps the query's lookup tables in SIMD registers, so it reads 96 bytes a row at 384 dimensions and
does no per-dimension arithmetic; the 8-bit scalar quantizer it replaced (each dimension scaled to its range, faiss'
`QT_8bit_uniform`) decoded every byte to float, and was several times slower; two threads (two halves searched at
once) were slower for one query under load. The codes are noisier than 8 bits, so more candidates are rescored
exactly (PREFILTER_CANDIDATES in viewer/search.py), enough that the top 10 match exact search. Building the codes
costs more than the 8-bit copy did, once per scope on its first search. The figures are in docs/performance.md#search
(bench/search_latency.py).

A row the codes fit badly (an outlier that sets one dimension's range alone, a vector unlike the sample the centroids
were trained on) could rank far below its true score, since the error of its approximate score is at most its
residual's norm: such rows are always handed to the exact rescoring.
"""

from __future__ import annotations

import faiss
import numpy as np

# faiss' thread count is process-wide, so it is set once, here, when faiss is first imported, and not on every
# index build. One thread: the query's embedding and the rows' fetch share this machine's cores, and a second one did
# not make one query's scan faster (see above).
faiss.omp_set_num_threads(1)

# Rows the centroids are trained on: 16 centroids per pair of dimensions need few, and more rows gave no better
# recall at a million rows while training took longer.
TRAINING_ROWS = 16_384
# A row whose residual is this many times the median residual is rescored on every query, up to MAX_OUTLIERS rows
# (the worst first), which bounds what they add to a query.
OUTLIER_RESIDUAL = 2.0
MAX_OUTLIERS = 1_024


class Prefilter:
    def __init__(self, matrix: np.ndarray, inverse_norms: np.ndarray, chunk: int = 65_536) -> None:
        """Encode the normalized rows, reading a chunk at a time so the float32 copies made from `matrix` (mapped
        from a file) never exceed one chunk."""
        rows, dims = matrix.shape
        self.pad = dims % 2  # a product code of dimension pairs: an odd last dimension gets a zero partner
        chunks = [(start, min(start + chunk, rows)) for start in range(0, rows, chunk)]
        coder = faiss.IndexPQ(dims + self.pad, (dims + self.pad) // 2, 4, faiss.METRIC_INNER_PRODUCT)
        coder.train(self._training_rows(matrix, inverse_norms))
        residuals = np.empty(rows, np.float32)
        for start, end in chunks:
            vectors = self._padded(_normalized(matrix, inverse_norms, start, end))
            codes = coder.sa_encode(vectors)
            coder.add_sa_codes(codes)
            residuals[start:end] = np.linalg.norm(vectors - coder.sa_decode(codes), axis=1)
        self.index = faiss.IndexPQFastScan(coder)  # the same codes, laid out in blocks for the SIMD scan
        del coder
        median = float(np.median(residuals))
        far = np.flatnonzero(residuals > OUTLIER_RESIDUAL * median)
        worst = far[np.argsort(-residuals[far], kind="stable")[:MAX_OUTLIERS]]
        self.outliers = np.sort(worst).astype(np.int64)

    def candidates(self, query: np.ndarray, count: int) -> np.ndarray:
        """The rows of the `count` best approximate cosines to a unit-length query, and every badly coded row, in
        row order."""
        _, found = self.index.search(self._padded(query[None, :].astype(np.float32)), count)
        # in row order: a mapped matrix then reads them in file order
        return np.union1d(found[0][found[0] >= 0], self.outliers).astype(np.int64)

    def _training_rows(self, matrix: np.ndarray, inverse_norms: np.ndarray) -> np.ndarray:
        rows = len(matrix)
        picked = np.sort(np.random.default_rng(0).choice(rows, min(rows, TRAINING_ROWS), replace=False))
        sample = np.asarray(matrix[picked], dtype=np.float32) * inverse_norms[picked, None]
        # k-means wants at least as many points as its 16 centroids: repeat a tiny matrix's rows
        return self._padded(np.resize(sample, (max(len(sample), 16), sample.shape[1])))

    def _padded(self, vectors: np.ndarray) -> np.ndarray:
        if not self.pad:
            return np.ascontiguousarray(vectors, dtype=np.float32)
        return np.hstack([vectors, np.zeros((len(vectors), 1), np.float32)]).astype(np.float32)


def _normalized(matrix: np.ndarray, inverse_norms: np.ndarray, start: int, end: int) -> np.ndarray:
    return np.ascontiguousarray(matrix[start:end], dtype=np.float32) * inverse_norms[start:end, None]
