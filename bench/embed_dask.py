"""Embedding through the Dask path: texts/s with 1 and 2 single-threaded workers against one single-threaded
process, on the same rows in one run, and the fixed cost of a chunk (what a chunk costs beyond its texts), so the
README can say which LS_DASK_CHUNK_ROWS keeps that overhead under 5%.

The cluster is real: `dask scheduler` and `dask worker --nthreads 1 --no-nanny` subprocesses on 127.0.0.1
(OMP_NUM_THREADS=1), the same as tests/test_embed_dask.py. Every Dask figure is a whole `steps.embed` on a fresh
data directory (read, chunk, send, embed, write HDF5, journal, publish) with the workers' model already loaded.

Run: PYTHONPATH=$PWD HF_HUB_OFFLINE=1 .venv/bin/python bench/embed_dask.py --rows 400
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from bench.machine import add_data_argument, data_file, distinct_texts, load, machine_line


def embed_once(frame: pd.DataFrame, settings: Any) -> tuple[float, Any]:
    """Seconds for one whole embedding step on a fresh data directory, and its sidecar."""
    from ls_pipeline import steps
    from ls_pipeline.stages.embed import EmbedParams
    from ls_pipeline.stages.ingest import IngestParams
    from ls_pipeline.store import DataDir

    data = DataDir(Path(tempfile.mkdtemp(prefix="ls-bench-dask-")) / "data")
    steps.ingest(data, "bench", frame, IngestParams(text_column="text"))
    started = time.perf_counter()
    artifact = steps.embed(data.dataset("bench"), EmbedParams(), workers=settings)
    return time.perf_counter() - started, artifact.sidecar


def one_process(texts: list[str]) -> float:
    """texts/s of the stage's own batches in this process, torch on one thread, the model loaded and warm."""
    import torch

    from ls_pipeline.models.embedding import DEFAULT_MODEL, load_embedder
    from ls_pipeline.stages import embed as embed_stage

    torch.set_num_threads(1)
    model, params = load_embedder(DEFAULT_MODEL), embed_stage.EmbedParams()
    model.embed(texts[:16])
    started = time.perf_counter()
    for _ in embed_stage.embed_batches(texts, model, params):
        pass
    return len(texts) / (time.perf_counter() - started)


def warm(cluster: Any) -> None:
    """Every worker loads the model now (kept for every later run), so no figure includes a model load."""
    from ls_pipeline.dask_embedding import worker
    from ls_pipeline.stages.embed import EmbedParams

    with cluster.client() as client:
        client.run(worker.describe, EmbedParams())



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400)
    add_data_argument(parser)
    parser.add_argument("--chunk_rows", type=int, default=64, help="chunk size of the throughput runs")
    parser.add_argument("--tiny", type=int, default=40, help="texts embedded one per chunk, for the fixed cost")
    args = parser.parse_args()
    print(machine_line(), flush=True)
    from ls_pipeline.dask_embedding.settings import DaskSettings
    from tests.dask_support import LoopbackCluster

    frame = distinct_texts(data_file(args.data, args.rows), args.rows)
    texts = frame["text"].tolist()
    print(f"{len(texts)} distinct Debian descriptions, chunks of {args.chunk_rows}; load average {load()}")

    cluster = LoopbackCluster()
    try:
        cluster.start_scheduler()
        cluster.start_workers(1)
        settings = DaskSettings(cluster.address, chunk_rows=args.chunk_rows)
        warm(cluster)
        local_1 = one_process(texts)  # beside each Dask figure: the shared machine's load drifts within minutes
        print(f"one process, 1 thread: {local_1:.1f} texts/s (load average {load()})")
        seconds, sidecar = embed_once(frame, settings)
        one_worker = sidecar["rows_embedded"] / seconds
        print(f"Dask, 1 worker:  {one_worker:.1f} texts/s ({seconds:.1f}s; load average {load()})")

        tiny = DaskSettings(cluster.address, chunk_rows=1)
        seconds, sidecar = embed_once(frame.iloc[args.rows // 2 :].head(args.tiny), tiny)
        chunks = sidecar["chunks"]
        compute = sum(c["seconds"] for c in chunks)
        fixed = (seconds - compute) / len(chunks)
        print(
            f"fixed cost per chunk: {fixed * 1000:.1f} ms ({len(chunks)} one-text chunks in {seconds:.2f}s, "
            f"{compute:.2f}s of it embedding on the worker; load average {load()})"
        )

        cluster.start_workers(1)
        warm(cluster)
        local_2 = one_process(texts)
        print(f"one process, 1 thread: {local_2:.1f} texts/s (load average {load()})")
        seconds, sidecar = embed_once(frame, settings)
        two_workers = sidecar["rows_embedded"] / seconds
        spread = {w: sum(c["texts"] for c in sidecar["chunks"] if c["worker"] == w) for w in sidecar["dask"]["workers"]}
        shares = list(spread.values())
        print(
            f"Dask, 2 workers: {two_workers:.1f} texts/s ({seconds:.1f}s; texts per worker {shares}; "
            f"load average {load()})"
        )
    finally:
        cluster.close()
    ratios = f"1 worker {one_worker / local_1:.2f}, 2 workers {two_workers / local_2:.2f}"
    print(f"ratios to the one-process figure measured just before each: {ratios}")
    per_text = 1 / one_worker
    for share in (0.05, 0.01):
        rows = max(1, math.ceil(fixed / (share * per_text)))
        print(
            f"fixed cost under {share:.0%} of a chunk: chunks of >= {rows} texts (at {one_worker:.1f} texts/s a worker)"
        )


if __name__ == "__main__":
    main()
