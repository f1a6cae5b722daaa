"""Time each pipeline stage on a sample of the real Debian data and print rows/s per stage.

    PYTHONPATH=$PWD .venv/bin/python bench/stages.py --rows 2000 [--data FILE]

UMAP is timed twice: the first run in a process pays numba's compilation, the second (other min_dist) does not.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import pandas as pd

from bench.machine import add_data_argument, data_file, machine_line  # noqa: E402
from ls_pipeline import steps  # noqa: E402
from ls_pipeline.stages.cluster import ClusterParams  # noqa: E402
from ls_pipeline.stages.embed import EmbedParams  # noqa: E402
from ls_pipeline.stages.ingest import IngestParams  # noqa: E402
from ls_pipeline.stages.label import LabelParams  # noqa: E402
from ls_pipeline.stages.scope import ScopeParams  # noqa: E402
from ls_pipeline.stages.umap import UmapParams  # noqa: E402
from ls_pipeline.store import DataDir  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    add_data_argument(parser)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(machine_line(), flush=True)
    data = data_file(args.data, args.rows)
    frame = pd.read_parquet(data).sample(n=args.rows, random_state=args.seed).reset_index(drop=True)
    with tempfile.TemporaryDirectory() as root:
        print_table(args.rows, run(DataDir(root), frame))


def run(data: DataDir, frame: pd.DataFrame) -> list[tuple[str, float]]:
    timings: list[tuple[str, float]] = []

    def timed(name: str, call):  # noqa: ANN001, ANN202
        started = time.perf_counter()
        result = call()
        timings.append((name, time.perf_counter() - started))
        return result

    timed("ingest", lambda: steps.ingest(data, "bench", frame, IngestParams(text_column="text")))
    ds = data.dataset("bench")
    embedding = timed("embed", lambda: steps.embed(ds, EmbedParams()))
    umap = timed("umap (first, with numba compile)", lambda: steps.umap(ds, embedding.id, UmapParams()))
    timed("umap (second, warm)", lambda: steps.umap(ds, embedding.id, UmapParams(min_dist=0.2)))
    cluster = timed("cluster (hdbscan)", lambda: steps.cluster(ds, umap.id, ClusterParams()))
    labels = timed("label (keywords)", lambda: steps.label(ds, cluster.id, LabelParams()))
    timed("scope", lambda: steps.scope(ds, labels.id, ScopeParams("bench")))
    timed("embed again (reused)", lambda: steps.embed(ds, EmbedParams()))
    return timings


def print_table(rows: int, timings: list[tuple[str, float]]) -> None:
    print(f"\n{rows} rows, load {os.getloadavg()[0]:.1f}")
    print(f"{'stage':36} {'seconds':>9} {'rows/s':>10}")
    for name, seconds in timings:
        print(f"{name:36} {seconds:9.2f} {rows / seconds if seconds else float('inf'):10.0f}")


if __name__ == "__main__":
    main()
