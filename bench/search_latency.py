"""Where one client's search time goes, at 1k and 100k rows (and the kNN alone at 1M): p50/p99 of the whole
request (in process, httpx over ASGI, no socket) beside each part measured apart in the same process, and a
breakdown of the requests themselves (hops, each blocking call, GC pauses, JSON encoding).

    PYTHONPATH=$PWD python bench/search_latency.py [/tmp/ls-bench-search] [--requests 200] [--requests-only]
        [--million-only]

At 1M rows (stand-in vectors: the 1,000 real embeddings plus noise): exact numpy against the 4-bit pre-filter
with exact rescoring (viewer/search.py), its scan against the old 8-bit scan (interleaved in one process), the
rescoring and top-k apart, and the pre-filter's recall@10 (mean and minimum) against exact.

Data: 'deb1k' (1,000 real Debian rows through the default recipe), 'deb100k1' (it tiled 100x; see viewer_data.py).
Parts: the tokenizer, the model's forward pass (torch), the whole embedder call (sentence-transformers' encode),
the same on ONNX Runtime (what queries use now), the query batcher (a hop to the model's own thread), the exact
top-k over the matrix, and the request as a whole; what the request costs beyond embedding + top-k is the route
itself (thread hops, DuckDB fetching the k rows, JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.machine import add_data_argument, data_file, load, machine_line, percentiles
from bench.viewer_data import build_10k, build_100k
from ls_pipeline.store import DataDir
from tests.load_client import QUERIES

SIZES = {"deb1k": 1_000, "deb100k1": 100_000}




def timed(fn: Callable[[int], object], n: int) -> list[float]:
    fn(0)  # warm
    out = []
    for i in range(n):
        started = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - started)
    return out


def query(i: int) -> str:
    return f"{QUERIES[i % len(QUERIES)]} {i}"


def ensure_data(root: Path, source: Path) -> str:
    data = DataDir(root)
    root.mkdir(parents=True, exist_ok=True)
    marker = root / "scope-id.txt"
    if not marker.is_file():
        scope_id = build_10k(data, source, rows=1_000, name="deb1k")
        build_100k(data, scope_id, small_name="deb1k", big_name="deb100k1", tiles=100)
        marker.write_text(scope_id)
    return marker.read_text().strip()


def model_parts(n: int) -> None:
    import torch

    from ls_pipeline.models.embedding import DEFAULT_MODEL, load_embedder, load_query_embedder
    from viewer.search import QueryEmbedder

    embedder = load_embedder(DEFAULT_MODEL)
    st = embedder._model  # type: ignore[attr-defined]
    tokenizer = st.tokenizer
    print(f"  tokenizer                  {percentiles(timed(lambda i: tokenizer([query(i)], return_tensors='pt'), n))}")
    features = tokenizer([query(0)], return_tensors="pt")
    with torch.inference_mode():
        print(f"  transformer forward        {percentiles(timed(lambda i: st[0].auto_model(**features), n))}")
    print(f"  embedder.embed (encode)    {percentiles(timed(lambda i: embedder.embed([query(i)]), n))}")
    fused = load_query_embedder(DEFAULT_MODEL)
    print(f"  ONNX Runtime fp32, fused   {percentiles(timed(lambda i: fused.embed([query(i)]), n))}")
    batcher = QueryEmbedder()
    print(f"  QueryEmbedder.embed        {percentiles(timed(lambda i: batcher.embed(DEFAULT_MODEL, query(i)), n))}")


def knn_parts(root: Path, scope_id: str, n: int) -> None:
    from viewer.search import EmbeddingIndex

    data = DataDir(root)
    rng = np.random.default_rng(0)
    for name in SIZES:
        index = EmbeddingIndex.open(_embedding_file(data, name, scope_id))
        q = index.matrix[0] + rng.normal(0, 0.01, index.matrix.shape[1]).astype(np.float32)
        samples = timed(lambda i, index=index, q=q: index.top_k(q, 20), n)
        print(f"  top-20 at {len(index.matrix):>9,} rows  {percentiles(samples)}")
    million(data, scope_id, max(50, n // 4))


def million(data: DataDir, scope_id: str, n: int) -> None:
    """1M stand-in vectors (the 1,000 real embeddings, each drawn with noise of about half its norm, so no two rows
    tie), real query texts: exact numpy against the pre-filter with exact rescoring, the pre-filter's scan against
    the 8-bit scan it replaced (interleaved, same matrix), and the recall@10 against exact."""
    from ls_pipeline.models.embedding import DEFAULT_MODEL, load_query_embedder
    from viewer.search import PREFILTER_CANDIDATES, EmbeddingIndex, top_k

    real = np.asarray(EmbeddingIndex.open(_embedding_file(data, "deb1k", scope_id)).matrix, dtype=np.float32)
    rng = np.random.default_rng(0)
    matrix = np.empty((1_000_000, real.shape[1]), dtype=np.float32)
    for start in range(0, len(matrix), 100_000):  # bounded temporaries
        picks = real[rng.integers(0, len(real), 100_000)]
        matrix[start : start + 100_000] = picks + rng.normal(0, 0.5 / np.sqrt(real.shape[1]), picks.shape)
    queries = load_query_embedder(DEFAULT_MODEL).embed([query(i) for i in range(n)]).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    exact = EmbeddingIndex(matrix, prefilter_min_rows=len(matrix) + 1)
    started = time.perf_counter()
    filtered = EmbeddingIndex(matrix)
    print(f"  1,000,000 stand-in rows: 4-bit codes built in {time.perf_counter() - started:.1f} s (load {load()})")
    started = time.perf_counter()
    old = EightBitScan(matrix, exact.inverse_norms)
    print(f"  the old 8-bit copy built in {time.perf_counter() - started:.1f} s (load {load()})")
    prefilter = filtered.prefilter
    assert prefilter is not None
    rescore = {}
    parts: dict[str, list[float]] = {"old 8-bit scan (256 rows)": [], "4-bit scan": [], "rescore + top-20": []}
    parts.update({"whole kNN, exact numpy": [], "whole kNN, 4-bit + exact": []})
    for _ in range(2):  # the parts interleaved query by query, so load from others hits them alike
        for i, q in enumerate(queries):
            started = time.perf_counter()
            old.candidates(q, 256)
            parts["old 8-bit scan (256 rows)"].append(time.perf_counter() - started)
            started = time.perf_counter()
            rows = prefilter.candidates(q, max(PREFILTER_CANDIDATES, 80))
            parts["4-bit scan"].append(time.perf_counter() - started)
            started = time.perf_counter()
            top_k((matrix[rows] @ q) * exact.inverse_norms[rows], 20)
            parts["rescore + top-20"].append(time.perf_counter() - started)
            rescore[i] = len(rows)
            started = time.perf_counter()
            filtered.top_k(q, 20)
            parts["whole kNN, 4-bit + exact"].append(time.perf_counter() - started)
    for q in queries:  # apart: numpy's threads, still spinning after a scan of 1.5 GB, would slow what follows
        started = time.perf_counter()
        exact.top_k(q, 20)
        parts["whole kNN, exact numpy"].append(time.perf_counter() - started)
    for label, samples in parts.items():
        print(f"  1,000,000 rows, {label:<27} {percentiles(samples)}")
    ratio = statistics.median(parts["old 8-bit scan (256 rows)"]) / statistics.median(parts["4-bit scan"])
    print(
        f"  old 8-bit scan / 4-bit scan (p50): {ratio:.2f}x; rows rescored per query: {min(rescore.values())}"
        f"-{max(rescore.values())} (outliers: {len(prefilter.outliers)}); load {load()}"
    )
    truths = [set(exact.top_k(q, 10).indices.tolist()) for q in queries]
    recall = [
        len(truth & set(filtered.top_k(q, 10).indices.tolist())) / 10 for q, truth in zip(queries, truths, strict=True)
    ]
    print(f"  recall@10 of the pre-filter against exact: mean {np.mean(recall):.4f}, min {min(recall):.2f} of {n}")
    for count in (256, 512):  # fewer candidates than PREFILTER_CANDIDATES: what the margin buys
        fewer = []
        for q, truth in zip(queries, truths, strict=True):
            rows = prefilter.candidates(q, count)
            best = rows[top_k((matrix[rows] @ q) * exact.inverse_norms[rows], 10).indices]
            fewer.append(len(truth & set(best.tolist())))
        print(f"  recall@10 with {count} candidates: mean {np.mean(fewer) / 10:.4f}, min {min(fewer) / 10:.2f}")


def million_scope_recall(data: DataDir, name: str, scope_id: str, n: int) -> None:
    """The served path's recall@10 against exact search on bench/million.py's own vectors (another noise than the
    stand-in matrix above), real query texts."""
    from ls_pipeline.models.embedding import DEFAULT_MODEL, load_query_embedder
    from viewer.search import EmbeddingIndex

    matrix = np.asarray(EmbeddingIndex.open(_embedding_file(data, name, scope_id)).matrix, dtype=np.float32)
    exact = EmbeddingIndex(matrix, prefilter_min_rows=len(matrix) + 1)
    filtered = EmbeddingIndex(matrix)
    queries = load_query_embedder(DEFAULT_MODEL).embed([query(i) for i in range(n)]).astype(np.float32)
    recall = [
        len(set(exact.top_k(q, 10).indices.tolist()) & set(filtered.top_k(q, 10).indices.tolist())) / 10
        for q in queries
    ]
    mean, least = np.mean(recall), min(recall)
    print(f"  recall@10 on {name}'s own vectors against exact: mean {mean:.4f}, min {least:.2f} of {n}")


class EightBitScan:
    """The pre-filter viewer/prefilter.py had before its 4-bit codes (faiss' QT_8bit_uniform over rows scaled per
    dimension), kept here to measure the new scan against it on the same matrix."""

    def __init__(self, matrix: np.ndarray, inverse_norms: np.ndarray, chunk: int = 65_536) -> None:
        import faiss

        dims = matrix.shape[1]
        spans = [(start, min(start + chunk, len(matrix))) for start in range(0, len(matrix), chunk)]
        low, high = np.full(dims, np.inf, np.float32), np.full(dims, -np.inf, np.float32)
        for start, end in spans:
            rows = matrix[start:end] * inverse_norms[start:end, None]
            low, high = np.minimum(low, rows.min(axis=0)), np.maximum(high, rows.max(axis=0))
        self.low, self.span = low, np.where(high > low, high - low, 1.0).astype(np.float32)
        self.index = faiss.IndexScalarQuantizer(dims, faiss.ScalarQuantizer.QT_8bit_uniform, faiss.METRIC_INNER_PRODUCT)
        self.index.train(np.stack([np.zeros(dims, np.float32), np.ones(dims, np.float32)]))
        for start, end in spans:
            self.index.add((matrix[start:end] * inverse_norms[start:end, None] - self.low) / self.span)

    def candidates(self, query: np.ndarray, count: int) -> np.ndarray:
        _, found = self.index.search((query * self.span)[None, :].astype(np.float32), count)
        return np.sort(found[0][found[0] >= 0])


def _embedding_file(data: DataDir, name: str, scope_id: str) -> Path:
    return data.dataset(name).file("embedding", _embedding_id(data, name, scope_id), ".h5")


def _embedding_id(data: DataDir, name: str, scope_id: str) -> str:
    import json

    return json.loads(data.dataset(name).file("scope", scope_id, ".json").read_text())["embedding_id"]


class Breakdown:
    """Per request: time waiting for a threadpool thread (the hop), time running each blocking call by name, GC
    pauses and JSON encoding. Installed by wrapping `work` where the search route calls it, and gc.callbacks."""

    def __init__(self) -> None:
        self.parts: dict[str, list[float]] = {}
        self.current: dict[str, float] = {}
        self._gc_started = 0.0

    def add(self, name: str, seconds: float) -> None:
        self.current[name] = self.current.get(name, 0.0) + seconds

    def close_request(self) -> None:
        for name, seconds in self.current.items():
            self.parts.setdefault(name, []).append(seconds)
        self.current = {}

    def on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.add(f"gc pause (gen {info['generation']})", time.perf_counter() - self._gc_started)

    def install(self) -> None:
        import gc

        from starlette.concurrency import run_in_threadpool

        import viewer.routes.common as common
        import viewer.routes.rows as rows

        async def work(fn: Callable[..., object], *args: object) -> object:
            queued = time.perf_counter()

            def timed_call() -> object:
                started = time.perf_counter()
                self.add("thread hop (wait for a pool thread)", started - queued)
                try:
                    return fn(*args)
                finally:
                    self.add(f"run {getattr(fn, '__qualname__', fn)}", time.perf_counter() - started)

            return await run_in_threadpool(timed_call)

        common.work = rows.work = work  # type: ignore[assignment]
        # The search route runs on one pool thread: time the steps inside it too.
        from viewer.db import Database
        from viewer.search import EmbeddingIndex, QueryEmbedder

        for owner, attr in ((QueryEmbedder, "embed"), (EmbeddingIndex, "top_k"), (Database, "scored_rows")):
            setattr(owner, attr, self._timed(getattr(owner, attr), f"in the search thread: {owner.__name__}.{attr}"))
        rows.scope_of = self._timed(rows.scope_of, "in the search thread: scope_of")  # type: ignore[assignment]
        encode = common.dumps

        def dumps(content: object) -> bytes:
            started = time.perf_counter()
            try:
                return encode(content)
            finally:
                self.add("JSON encoding", time.perf_counter() - started)

        common.dumps = dumps  # type: ignore[assignment]
        gc.callbacks.append(self.on_gc)

    def _timed(self, fn: Callable[..., object], name: str) -> Callable[..., object]:
        def timed_fn(*args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(name, time.perf_counter() - started)

        return timed_fn

    def report(self, n: int) -> None:
        for name, samples in sorted(self.parts.items(), key=lambda item: -sum(item[1])):
            padded = samples + [0.0] * (n - len(samples))  # requests without this part (e.g. no GC) count as 0
            print(f"    {name[:44]:<44} in {len(samples):>4} of {n}  {percentiles(padded)}")


Run = tuple[str, int, int | None]  # dataset, its rows, PREFILTER_MIN_ROWS for the run (None: as served)


async def requests(root: Path, scope_id: str, n: int, runs: list[Run], parts: Breakdown) -> None:
    from viewer import search
    from viewer.app import create_app

    default_min_rows = search.PREFILTER_MIN_ROWS
    try:
        await _requests(create_app(root), scope_id, n, runs, parts)
    finally:
        search.PREFILTER_MIN_ROWS = default_min_rows


async def _requests(app: Any, scope_id: str, n: int, runs: list[Run], parts: Breakdown) -> None:
    from viewer import search

    default_min_rows = search.PREFILTER_MIN_ROWS

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://viewer", timeout=600) as client:
            for name, rows, prefilter in runs:
                search.PREFILTER_MIN_ROWS = default_min_rows if prefilter is None else prefilter
                search._index.cache_clear()
                base = f"/api/datasets/{name}/scopes/{scope_id}"
                started = time.perf_counter()
                (await client.get(f"{base}/search?q=warm&k=20")).raise_for_status()
                # the index and the rows' copy (the process' first also waits for the model)
                print(f"  first search at {rows:>7,} rows {time.perf_counter() - started:.2f} s")
                samples = []
                parts.parts = {}
                parts.current = {}
                for i in range(n):
                    started = time.perf_counter()
                    response = await client.get(f"{base}/search", params={"q": query(i), "k": 20})
                    samples.append(time.perf_counter() - started)
                    parts.close_request()
                    response.raise_for_status()
                how = "exact" if search.PREFILTER_MIN_ROWS > rows else "4-bit pre-filter"
                print(f"  whole request at {rows:>7,} rows, {how:<18} {percentiles(samples)}")
                parts.report(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default="/tmp/ls-bench-search")
    parser.add_argument("--requests", type=int, default=200)
    add_data_argument(parser)
    parser.add_argument("--requests-only", action="store_true", help="skip the parts measured apart")
    parser.add_argument("--million-only", action="store_true", help="only the kNN at 1M stand-in rows")
    parser.add_argument(
        "--million-root", type=Path, help="also whole requests on bench/million.py's 1M-row scope in this data root"
    )
    args = parser.parse_args()
    print(machine_line(), flush=True)
    root = Path(args.root)
    scope_id = ensure_data(root, data_file(args.data, 1_000))
    print(f"load average before: {load()}")
    if args.million_only:
        million(DataDir(root), scope_id, max(50, args.requests // 4))
        return
    if not args.requests_only:
        print("query embedding (one text, one thread):")
        model_parts(args.requests)
        print("exact kNN:")
        knn_parts(root, scope_id, args.requests)
    print("search requests, one client:")
    # 100k twice: as served (the 4-bit pre-filter from PREFILTER_MIN_ROWS up) and exact numpy alone
    runs = [(name, rows, None) for name, rows in SIZES.items()] + [("deb100k1", 100_000, 10**9)]
    parts = Breakdown()
    parts.install()
    asyncio.run(requests(root, scope_id, args.requests, runs, parts))
    if args.million_root is not None:
        from bench.million import NAME

        scopes = sorted(DataDir(args.million_root).dataset(NAME).path.glob("scopes/scopes-*.json"))
        asyncio.run(requests(args.million_root, scopes[-1].stem, args.requests, [(NAME, 1_000_000, None)], parts))
        print(f"  peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        million_scope_recall(DataDir(args.million_root), NAME, scopes[-1].stem, 40)
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
