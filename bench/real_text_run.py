"""The largest real-text run: every row of a Parquet file of real texts through the default recipe, step by step with
the CLI (ls-ingest, ls-embed, ls-umap, ls-cluster, ls-label, ls-scope), each step a fresh process under
/usr/bin/time -v, with its time and peak RSS.

    PYTHONPATH=$PWD HF_HUB_OFFLINE=1 python bench/real_text_run.py --data FILE [--rows N] [ROOT]

ROOT (default /tmp/ls-bench-real) is the data directory; a dataset already there is run again from its ingest. The
parameters are every stage's defaults (the default recipe's), so this is what `ls-run` does, stage by
stage. bench/umap_sampling.py --embedding reads the embedding this leaves.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from bench.machine import add_data_argument, data_file, load, machine_line, timed_process

DATASET = "real"
BIN = Path(sys.executable).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default=Path("/tmp/ls-bench-real"), type=Path)
    parser.add_argument("--rows", type=int, default=0, help="the first N rows (default: all)")
    add_data_argument(parser)
    args = parser.parse_args()
    frame = pd.read_parquet(data_file(args.data, args.rows))
    frame = frame.head(args.rows) if args.rows else frame
    shutil.rmtree(args.root / DATASET, ignore_errors=True)
    args.root.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "LATENT_SCOPE_DATA": str(args.root), "HF_HUB_OFFLINE": "1"}
    print(machine_line(), flush=True)
    print(f"{len(frame):,} rows, {frame['text'].str.len().sum() / len(frame):.0f} characters a row on average")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "input.parquet"
        frame.to_parquet(source)
        stages = [
            ("ingest", ["ls-ingest", DATASET, str(source), "--text_column", "text"]),
            ("embedding", ["ls-embed", DATASET, "text"]),
            ("umap", ["ls-umap", DATASET, "embedding-001"]),
            ("cluster", ["ls-cluster", DATASET, "umap-001"]),
            ("labels", ["ls-label", DATASET, "text", "cluster-001"]),
            ("scope", ["ls-scope", DATASET, "cluster-001-labels-001", "real text", "the largest real-text run"]),
        ]
        total = 0.0
        print("| stage | time | peak RSS | load before -> after |\n|---|---:|---:|---|")
        for name, command in stages:
            before = load()
            seconds, peak_mb, _ = timed_process([str(BIN / command[0]), *command[1:]], env)
            total += seconds
            print(f"| {name} | {seconds:,.1f} s | {peak_mb / 1024:.1f} GB | {before} -> {load()} |", flush=True)
        print(f"| end to end | {total:,.1f} s ({total / 60:.1f} min) | | |")
    print(f"finished {time.strftime('%H:%M:%S')}")


if __name__ == "__main__":
    main()
