"""The candidate index behind viewer/search.py's pre-filter: faiss' 8-bit scalar quantizer, one thread.

8 bits a dimension, each dimension's range the exact minimum and maximum of its normalized values: a quarter of the
float32 bytes, so a scan of 1M x 384 reads 384 MB instead of 1.5 GB. Measured on 1M stand-in rows (load ~9, one
thread): 42 ms a query against 65 ms for faiss' float16 quantizer, recall@10 after exact rescoring 1.0 for both
(bench/search_latency.py measures it again).
"""

from __future__ import annotations

import faiss
import numpy as np

# faiss' thread count is process-wide, so it is set once, here, when faiss is first imported, and not on every
# index build. One thread: the query's embedding and the rows' fetch share this machine's cores; under load 2
# threads were slower (1M rows, load ~9: 90 ms against 42 ms).
faiss.omp_set_num_threads(1)


def quantized_index(matrix: np.ndarray, inverse_norms: np.ndarray, chunk: int = 65_536) -> faiss.IndexScalarQuantizer:
    """An 8-bit scalar-quantizer index of the normalized rows (inner product = cosine), read a chunk at a time so
    the float32 copies it is made from never exceed one chunk."""
    index = faiss.IndexScalarQuantizer(matrix.shape[1], faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    chunks = [(start, min(start + chunk, len(matrix))) for start in range(0, len(matrix), chunk)]
    low = np.full(matrix.shape[1], np.inf, np.float32)
    high = np.full(matrix.shape[1], -np.inf, np.float32)
    for start, end in chunks:
        rows = _normalized(matrix, inverse_norms, start, end)
        low, high = np.minimum(low, rows.min(axis=0)), np.maximum(high, rows.max(axis=0))
    # faiss' default range per dimension is the training rows' min and max: these two rows make it the whole
    # matrix's, so no value is clipped (training on a sample would clip the rows outside it).
    index.train(np.stack([low, high]))
    for start, end in chunks:
        index.add(_normalized(matrix, inverse_norms, start, end))
    return index


def _normalized(matrix: np.ndarray, inverse_norms: np.ndarray, start: int, end: int) -> np.ndarray:
    return np.ascontiguousarray(matrix[start:end], dtype=np.float32) * inverse_norms[start:end, None]
