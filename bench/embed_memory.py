"""Peak memory of the embedding step's own bookkeeping as the dataset grows, without the model's.

The real model's runtime (torch, tokenizers) dominates the embed stage's peak RSS; this runs our streaming code
(`steps.embed.embed_resumable`: length-sorted batches, per-row done mask, HDF5 writes) with a stand-in model that
answers at once, so what remains is ours. The whole stage with the real model: compare_latentscope.py
--skip-latentscope --skip-reruns --rows N (GNU time's peak RSS per command).

  PYTHONPATH=$PWD .venv/bin/python bench/embed_memory.py --rows 10000 60000
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from bench.machine import add_data_argument, data_file, machine_line


class InstantModel:
    dimensions = 384
    revision = "instant"

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = np.random.default_rng(len(texts)).standard_normal((len(texts), self.dimensions)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def measure(data: Path, rows: int) -> tuple[int, int]:
    """(peak RSS MB with the texts loaded, peak RSS MB after embedding them), in this process."""
    from ls_pipeline.stages.embed import EmbedParams
    from ls_pipeline.steps.embed import embed_resumable

    texts = pd.read_parquet(data, columns=["text"])["text"].astype(str).tolist()[:rows]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    with tempfile.TemporaryDirectory() as folder:
        embed_resumable(Path(folder) / "e.h5", texts, InstantModel(), EmbedParams(), None)
    return before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10000, 60000])
    add_data_argument(parser)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child process measuring one size
    args = parser.parse_args()
    data = data_file(args.data, max([args.one or 0, *args.rows]))
    if args.one:
        print(*measure(data, args.one))
        return
    print(machine_line(), flush=True)  # the parent's line: a child's output is parsed
    print("| rows | peak RSS with texts loaded | peak RSS after embedding | added by the step |")
    print("|---:|---:|---:|---:|")
    for rows in args.rows:  # each size in a fresh process: ru_maxrss only ever grows
        child = [sys.executable, __file__, "--one", str(rows), "--data", str(data)]
        out = subprocess.run(child, capture_output=True, text=True, check=True)
        before, after = map(int, out.stdout.split()[-2:])
        print(f"| {rows:,} | {before} MB | {after} MB | {after - before} MB |")


if __name__ == "__main__":
    main()
