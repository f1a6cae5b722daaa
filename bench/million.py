"""A million rows on this machine: stand-in vectors through ingest, import, UMAP, HDBSCAN, keyword labels and scope,
with the time and peak RSS of each stage, then the viewer's points, rows and search at that size.

    PYTHONPATH=$PWD python bench/million.py [/tmp/ls-million] [--rows 1000000] [--stages ingest,import,...]

Stand-in data: the real texts and real embeddings of 'deb1k' (bench/search_latency.py builds it: 1,000 Debian rows
through the default recipe), each row i copying text i % 1000 (numbered, so rows differ) and its vector plus
Gaussian noise, normalized: 1,000 topics of ~1,000 near neighbours each, no 5-hour embedding. The vectors come in
through import_embeddings (what ls-embed-importer runs), named as all-MiniLM-L6-v2's so that queries embed here.

Each stage runs in a process of its own under /usr/bin/time -v: its peak RSS is its own, as with the CLI commands.
UMAP above its fit_sample (250,000 rows by default) fits on a sample and transforms the rest; clustering runs on
the 2D map (cluster_on: umap) with fast_hdbscan, sized for a million rows (min_cluster_size 200).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from bench.machine import load, machine_line, percentiles, timed_process

SOURCE = Path("/tmp/ls-bench-search")  # bench/search_latency.py's data directory
NAME = "m1m"
STAGES = ("data", "ingest", "import", "umap", "cluster", "label", "scope", "viewer")
NOISE = 0.02  # per dimension: a stand-in is at cosine ~0.93 from its source vector, its source's nearest others



def make_data(root: Path, rows: int) -> None:
    """The stand-in rows (parquet) and vectors (.npy) from deb1k's real ones, written once."""
    import pandas as pd

    from ls_pipeline.store import DataDir

    src = DataDir(SOURCE).dataset("deb1k")
    scope_id = (SOURCE / "scope-id.txt").read_text().strip()
    embedding_id = json.loads(src.file("scope", scope_id, ".json").read_text())["embedding_id"]
    import h5py

    with h5py.File(src.file("embedding", embedding_id, ".h5"), "r") as handle:
        real = np.asarray(handle["embeddings"][...], dtype=np.float32)
    frame = pd.read_parquet(src.input_path)
    source_row = np.arange(rows) % len(real)
    out = pd.DataFrame(
        {
            "package": frame["package"].to_numpy()[source_row] + "~" + (np.arange(rows) // len(real)).astype(str),
            "text": frame["text"].to_numpy()[source_row],
        }
    )
    out.to_parquet(root / "standin.parquet", index=False)
    vectors = np.lib.format.open_memmap(root / "standin.npy", mode="w+", dtype=np.float32, shape=(rows, real.shape[1]))
    rng = np.random.default_rng(0)
    for start in range(0, rows, 100_000):  # bounded memory
        part = real[source_row[start : start + 100_000]]
        part = part + rng.normal(0, NOISE, part.shape).astype(np.float32)
        vectors[start : start + 100_000] = part / np.linalg.norm(part, axis=1, keepdims=True)
    vectors.flush()


def run_stage(root: Path, stage: str, rows: int, fit_sample: int | None = None) -> str:
    """One stage in this process; returns what to print about its result."""
    from ls_pipeline import steps
    from ls_pipeline.models.embedding import DEFAULT_MODEL
    from ls_pipeline.stages.cluster import ClusterParams
    from ls_pipeline.stages.ingest import IngestParams
    from ls_pipeline.stages.label import LabelParams
    from ls_pipeline.stages.scope import ScopeParams
    from ls_pipeline.stages.umap import UmapParams
    from ls_pipeline.store import DataDir

    data = DataDir(root)
    if stage == "data":
        make_data(root, rows)
        return f"{rows:,} stand-in rows"
    if stage == "ingest":
        import pandas as pd

        steps.ingest(data, NAME, pd.read_parquet(root / "standin.parquet"), IngestParams(text_column="text"))
        return f"{data.dataset(NAME).meta()['length']:,} rows"
    ds = data.dataset(NAME)

    def last(kind: str) -> str:
        return list(ds.sidecars(kind))[-1].id

    if stage == "import":
        vectors = np.load(root / "standin.npy", mmap_mode="r")
        artifact = steps.import_embeddings(ds, vectors, DEFAULT_MODEL, "bench/million.py stand-in vectors")
        return artifact.id
    if stage == "umap":
        artifact = steps.umap(ds, last("embedding"), UmapParams(fit_sample=fit_sample or UmapParams().fit_sample))
        return f"{artifact.id} fit_sampled={artifact.sidecar.raw.get('fit_sampled')}"
    if stage == "cluster":
        params = ClusterParams(min_cluster_size=200, method="fast_hdbscan", cluster_on="umap")
        artifact = steps.cluster(ds, last("umap"), params)
        return f"{artifact.id}: {artifact.sidecar.n_clusters} clusters, noise {artifact.sidecar.noise_share:.1%}"
    if stage == "label":
        return steps.label(ds, last("cluster"), LabelParams()).id
    if stage == "scope":
        return steps.scope(ds, last("labels"), ScopeParams("a million stand-in rows")).id
    if stage == "viewer":
        return asyncio.run(viewer_latency(root, last("scope")))
    raise SystemExit(f"unknown stage {stage!r}; use one of {', '.join(STAGES)}")



async def viewer_latency(root: Path, scope_id: str, n: int = 50) -> str:
    """Points, a page of rows and search, one client, in process (httpx over ASGI, no socket)."""
    import httpx

    from tests.load_client import QUERIES
    from viewer.app import create_app

    app = create_app(root)
    base = f"/api/datasets/{NAME}/scopes/{scope_id}"
    lines = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://viewer", timeout=600) as client:
            for what, path, params in (
                ("points", f"{base}/points", lambda i: {}),
                ("rows", f"{base}/rows", lambda i: {"offset": (i * 7919) % 900_000, "limit": 50}),
                ("search", f"{base}/search", lambda i: {"q": f"{QUERIES[i % len(QUERIES)]} {i}", "k": 20}),
            ):
                started = time.perf_counter()
                first = await client.get(path, params=params(0))
                first.raise_for_status()
                samples = []
                for i in range(1, n + 1):
                    t = time.perf_counter()
                    (await client.get(path, params=params(i))).raise_for_status()
                    samples.append(time.perf_counter() - t)
                lines.append(
                    f"{what}: first {time.perf_counter() - started - sum(samples):.2f} s, then {percentiles(samples)}"
                    f" ({len(first.content) / 1e6:.1f} MB)"
                )
    return "; ".join(lines)


def timed_child(root: Path, stage: str, rows: int, fit_sample: int | None) -> tuple[float, int, str]:
    """Run one stage in a child process: wall seconds, peak RSS in MB, its result line."""
    command = [sys.executable, __file__, str(root), "--rows", str(rows), "--child", stage]
    command += ["--fit-sample", str(fit_sample)] if fit_sample else []
    seconds, peak_mb, stdout = timed_process(command, {**os.environ, "HF_HUB_OFFLINE": "1"})
    result = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    return seconds, peak_mb, result[-1][7:] if result else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default="/tmp/ls-million", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--fit-sample", type=int, help="UMAP's fit_sample (default: the parameter's default)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.root.mkdir(parents=True, exist_ok=True)
    if args.child:
        import logging

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
        print("RESULT " + run_stage(args.root, args.child, args.rows, args.fit_sample), flush=True)
        return
    print(machine_line(), flush=True)  # the parent's line: a child's output is parsed
    print(f"{args.rows:,} rows in {args.root}; load average before: {load()}")
    for stage in args.stages.split(","):
        before = load()
        seconds, peak_mb, result = timed_child(args.root, stage, args.rows, args.fit_sample)
        line = f"{stage:<8} {seconds:8.1f} s  peak RSS {peak_mb:>6,} MB  load {before} -> {load()}  {result}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
