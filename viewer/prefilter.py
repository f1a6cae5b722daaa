"""The float16 candidate index behind viewer/search.py's pre-filter: faiss' scalar quantizer, one thread."""

from __future__ import annotations

import faiss
import numpy as np

# faiss' thread count is process-wide, so it is set once, here, when faiss is first imported, and not on every
# index build. One thread: the query's embedding and the rows' fetch share this machine's cores; under load 2
# threads were slower (bench/search_latency.py).
faiss.omp_set_num_threads(1)


def float16_index(matrix: np.ndarray, inverse_norms: np.ndarray, chunk: int = 65_536) -> faiss.IndexScalarQuantizer:
    """faiss' float16 scalar-quantizer index of the normalized rows (inner product = cosine), filled a chunk at a
    time so the float32 copy it is made from never exceeds one chunk."""
    index = faiss.IndexScalarQuantizer(matrix.shape[1], faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
    for start in range(0, len(matrix), chunk):
        rows = np.ascontiguousarray(matrix[start : start + chunk], dtype=np.float32)
        index.add(rows * inverse_norms[start : start + chunk, None])
    return index
