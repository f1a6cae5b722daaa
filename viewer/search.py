"""Exact cosine top-k over a scope's embedding matrix, memory-mapped from its HDF5 file, with numpy.

numpy over the mapped matrix was measured against DuckDB's array_cosine_similarity (bench/search_backends.py):
numpy is an order of magnitude faster on the sizes we serve, and exact. One query reads the whole matrix, so at a
million rows (1.5 GB of float32) the time is memory bandwidth: from PREFILTER_MIN_ROWS rows up the candidates come
from 4-bit product codes (viewer/prefilter.py: a sixteenth of the bytes, SIMD) and only they are scored again in
float32, so every score returned is exact; recall@10 against exact search is measured by bench/search_latency.py.

On object storage the matrix is mapped from a local copy (store/local_copies.py, bounded by vector_cache_mb),
fetched once when a scope is first searched: exact search scores every row, so reading rows on demand would fetch the
whole matrix per query, and a copy makes every later query as fast as a local data directory.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ls_pipeline.models.embedding import Embedder, load_query_embedder
from ls_pipeline.store.files import Version, version
from ls_pipeline.store.local_copies import LocalCopies
from ls_pipeline.store.vectors import open_matrix
from viewer.errors import BadRequest

if TYPE_CHECKING:
    from viewer.prefilter import Prefilter


@dataclass(frozen=True)
class Matches:
    indices: np.ndarray  # int64 ls_index, best first
    scores: np.ndarray  # float32 cosine similarity


# Below this many rows exact numpy is fast enough and a quantized copy not worth its memory; above, a pre-filter
# makes the top-k several times faster (docs/performance.md). The 4-bit codes cost a quarter of a byte per dimension
# per row and are built on a scope's first search.
PREFILTER_MIN_ROWS = 50_000
# Rows taken from the 4-bit scores for exact rescoring: the codes move a unit vector's cosine by up to its residual
# (viewer/prefilter.py), so a true top-k row falls out only when this many rows score within that of it. At 1M
# stand-in rows 1,024 gave recall@10 1.0 (mean and minimum over 50 queries), 512 0.992 (0.9), 256 0.948 (0.7).
PREFILTER_CANDIDATES = 1_024


class EmbeddingIndex:
    def __init__(self, matrix: np.ndarray, prefilter_min_rows: int | None = None) -> None:
        """An index over `matrix` (mapped from a file or in memory); the 4-bit pre-filter from
        `prefilter_min_rows` rows up (PREFILTER_MIN_ROWS by default)."""
        if prefilter_min_rows is None:
            prefilter_min_rows = PREFILTER_MIN_ROWS
        self.matrix = matrix
        norms = np.linalg.norm(self.matrix, axis=1).astype(np.float32)
        norms[norms == 0] = 1.0  # a zero vector scores 0 against everything instead of NaN
        self.inverse_norms = 1.0 / norms
        self.prefilter: Prefilter | None = None
        if len(norms) >= prefilter_min_rows:
            from viewer.prefilter import Prefilter  # faiss is slow to import; small scopes never need it

            self.prefilter = Prefilter(self.matrix, self.inverse_norms)

    @classmethod
    def open(cls, path: Path, copies: LocalCopies | None = None) -> EmbeddingIndex:
        """The index of an embedding file, mapped (from a local copy when `copies` holds remote files)."""
        return cls(open_matrix(path, copies))

    def top_k(self, vector: np.ndarray, k: int) -> Matches:
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        if query.shape[0] != self.matrix.shape[1]:
            raise BadRequest(f"query vector has {query.shape[0]} dimensions, the embedding {self.matrix.shape[1]}")
        query = query / (float(np.linalg.norm(query)) or 1.0)
        candidates = max(PREFILTER_CANDIDATES, 4 * k)
        if self.prefilter is None or candidates >= len(self.inverse_norms):
            return top_k((self.matrix @ query) * self.inverse_norms, k)
        rows = self.prefilter.candidates(query, candidates)
        best = top_k((self.matrix[rows] @ query) * self.inverse_norms[rows], k)
        return Matches(rows[best.indices].astype(np.int64), best.scores)


def top_k(scores: np.ndarray, k: int) -> Matches:
    """The k highest scores, best first; ties broken by the lower ls_index so results are deterministic."""
    k = min(k, len(scores))
    if k <= 0:
        return Matches(np.empty(0, np.int64), np.empty(0, np.float32))
    candidates = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    order = np.lexsort((candidates, -scores[candidates]))
    chosen = candidates[order].astype(np.int64)
    return Matches(chosen, scores[chosen].astype(np.float32))


@lru_cache(maxsize=8)
def _index(path: Path, _version: Version, copies: LocalCopies | None) -> EmbeddingIndex:
    return EmbeddingIndex.open(path, copies)


_index_lock = threading.Lock()


def embedding_index(path: Path, copies: LocalCopies | None = None) -> EmbeddingIndex:
    """The index of the file's current version; `copies` holds the local copies of remote files."""
    with _index_lock:  # two first requests would otherwise both compute the norms (or fetch the copy)
        return _index(path, version(path), copies)


class QueryEmbedder:
    """The scope's own embedding model, loaded once per process and shared.

    Queries that arrive while the model is busy are embedded together in the next forward pass: under concurrent
    searches one batch costs far less than the same queries one after another.
    """

    def __init__(self) -> None:
        self._batchers: dict[str, _Batcher] = {}
        self._guard = threading.Lock()

    def _batcher(self, model: QueryModel) -> _Batcher:
        with self._guard:
            return self._batchers.setdefault(model, _Batcher(model))

    def embed(self, model: QueryModel | str, text: str, prefix: str = "") -> np.ndarray:
        return self._batcher(QueryModel(model) if isinstance(model, str) else model).embed(prefix + text)

    def warm(self, model_id: str) -> None:
        model = QueryModel(model_id)
        # one query, not just the load: an ONNX model makes its session on first use (models/onnx_export.py)
        self._batcher(model).worker.submit(lambda: model.load().embed(["warm"])).result()


@dataclass(frozen=True)
class QueryModel:
    """What embeds a scope's queries: its model id, the data directory (for custom API models and the keys in its
    .env) and the shorter dimensions it was embedded with, if any."""

    model_id: str
    data_root: Path | None = None
    dimensions: int | None = None

    def load(self) -> Embedder:
        return load_query_embedder(self.model_id, data_root=self.data_root, dimensions=self.dimensions)


class _Batcher:
    """Every forward pass of one model runs on one thread of its own.

    torch keeps per-calling-thread state (an OpenMP team, allocator arenas): with forward passes on whichever
    request thread came first, 32 loopback clients (tests/load_client.py) grew the server by 250 MB in 90 s; on one
    thread, by 65 MB in 150 s and slowing. Batches also got larger (mean 16 queries instead of 2 at 32 clients).
    """

    def __init__(self, model: QueryModel) -> None:
        self.model = model
        self.pending: list[tuple[str, Future[np.ndarray]]] = []
        self.guard = threading.Lock()
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed-query")

    def embed(self, text: str) -> np.ndarray:
        future: Future[np.ndarray] = Future()
        with self.guard:
            self.pending.append((text, future))
        self.worker.submit(self._drain)
        return future.result()

    def _drain(self) -> None:
        with self.guard:
            batch, self.pending = self.pending, []
        if batch:  # else an earlier pass already took these queries along
            self._run(batch)

    def _run(self, batch: list[tuple[str, Future[np.ndarray]]]) -> None:
        try:
            vectors = self.model.load().embed([text for text, _ in batch])
        except BaseException as exc:  # every waiting request gets the same error (e.g. the model cannot load)
            for _, future in batch:
                future.set_exception(exc)
            return
        for (_, future), vector in zip(batch, vectors, strict=True):
            future.set_result(vector)
