"""Embedding throughput: the default fp32 path (sentence-transformers on torch) against the int8 path
(ONNX Runtime, per-channel dynamic quantization), on the same length-sorted batches, alternating batch by batch
so a change in the shared machine's load hits both alike. Also: how far int8 is from fp32 (cosine, kNN
overlap@10), and the one-time export + quantization cost.

Run: PYTHONPATH=$PWD HF_HUB_OFFLINE=1 .venv/bin/python bench/embed_throughput.py --rows 1000
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import pandas as pd

from bench.machine import add_data_argument, data_file, machine_line


def knn_overlap(a: np.ndarray, b: np.ndarray, k: int = 10) -> float:
    """Mean share of each row's k nearest neighbours (cosine, self excluded) that both vector sets agree on."""

    def top(v: np.ndarray) -> np.ndarray:
        sims = v @ v.T
        np.fill_diagonal(sims, -np.inf)
        return np.argpartition(-sims, k, axis=1)[:, :k]

    ta, tb = top(a), top(b)
    return float(np.mean([len(set(x) & set(y)) / k for x, y in zip(ta, tb, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000)
    add_data_argument(parser)
    parser.add_argument("--batch_size", type=int, default=64)
    args = parser.parse_args()
    print(machine_line(), flush=True)
    # The int8 export is part of what is timed, so this process gets a cache folder of its own; set in the
    # environment because the model loader reads LS_CACHE there (ls_pipeline/settings.py), not as an argument.
    os.environ.setdefault("LS_CACHE", tempfile.mkdtemp(prefix="ls-cache-"))
    import torch

    from ls_pipeline.models.embedding import DEFAULT_MODEL, load_embedder
    from ls_pipeline.stages.embed import batch_order

    data = data_file(args.data, args.rows)
    texts = pd.read_parquet(data).sample(n=args.rows, random_state=0)["text"].astype(str).tolist()
    print(f"{args.rows} texts, mean {np.mean([len(t) for t in texts]):.0f} chars; torch threads "
          f"{torch.get_num_threads()}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")  # fmt: skip
    fp32 = load_embedder(DEFAULT_MODEL)
    started = time.perf_counter()
    int8 = load_embedder(DEFAULT_MODEL, "int8")
    setup = time.perf_counter() - started
    fp32.embed(texts[:8]), int8.embed(texts[:8])  # warm up both

    out = {name: np.zeros((len(texts), fp32.dimensions), np.float32) for name in ("fp32", "int8")}
    spent = {"fp32": 0.0, "int8": 0.0}
    for rows in batch_order(texts, args.batch_size):
        batch = [texts[i] for i in rows]
        for name, embedder in (("fp32", fp32), ("int8", int8)):
            started = time.perf_counter()
            out[name][rows] = embedder.embed(batch)
            spent[name] += time.perf_counter() - started
    cosine = (out["fp32"] * out["int8"]).sum(axis=1)
    print("| path | rows/s | speed-up | cosine to fp32 (min / mean) | kNN overlap@10 with fp32 |")
    print("|---|---:|---:|---:|---:|")
    print(f"| fp32 torch (default) | {len(texts) / spent['fp32']:.1f} | 1.00 | 1 / 1 | 1.000 |")
    print(f"| int8 ONNX Runtime | {len(texts) / spent['int8']:.1f} | {spent['fp32'] / spent['int8']:.2f} | "
          f"{cosine.min():.4f} / {cosine.mean():.4f} | {knn_overlap(out['fp32'], out['int8']):.3f} |")  # fmt: skip
    print(
        f"int8 one-time setup (export + quantize + load): {setup:.1f} s; "
        f"load average after {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    main()
