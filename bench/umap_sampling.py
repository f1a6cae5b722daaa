"""What UMAP's fit_sample costs in quality: a full fit against a fit on a sample plus transform, on one size.

    PYTHONPATH=$PWD python bench/umap_sampling.py [--rows 50000] [--fit-sample 5000]

Data: bench/million.py's stand-in vectors (deb1k's 1,000 real embeddings plus noise, 1,000 topics), the first
--rows of them (make them with `bench/million.py ... --stages data` first). Two figures per layout, over 2,000
probe rows: kNN preservation (the share of a row's 10 nearest neighbours in the embedding, cosine, that are among
its 10 nearest on the map) and topic agreement (the share of its 10 nearest on the map that come from its own real
row). The default sample ratio is the million run's (100,000 of 1,000,000).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from bench.machine import machine_line
from ls_pipeline.stages.umap import UmapParams, project

K = 10
PROBES = 2_000


def nearest(space: np.ndarray, probes: np.ndarray, cosine: bool) -> np.ndarray:
    """The K nearest rows of each probe (itself excluded), exact, in chunks."""
    out = np.empty((len(probes), K), dtype=np.int64)
    for start in range(0, len(probes), 256):
        rows = probes[start : start + 256]
        if cosine:
            dist = -(space[rows] @ space.T)
        else:
            dist = ((space[rows, None, :] - space[None, :, :]) ** 2).sum(axis=2)
        dist[np.arange(len(rows)), rows] = np.inf
        out[start : start + 256] = np.argpartition(dist, K, axis=1)[:, :K]
    return out


def scores(xy: np.ndarray, truth: np.ndarray, probes: np.ndarray, topic: np.ndarray) -> tuple[float, float]:
    on_map = nearest(xy.astype(np.float32), probes, cosine=False)
    kept = np.mean([len(set(a) & set(b)) / K for a, b in zip(truth, on_map, strict=True)])
    same_topic = float((topic[on_map] == topic[probes, None]).mean())
    return float(kept), same_topic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=Path, default=Path("/tmp/ls-million/standin.npy"))
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--fit-sample", type=int, default=5_000)
    args = parser.parse_args()
    print(machine_line(), flush=True)
    vectors = np.ascontiguousarray(np.load(args.vectors, mmap_mode="r")[: args.rows])
    topic = np.arange(args.rows) % 1000  # bench/million.py: row i copies real row i % 1000
    probes = np.random.default_rng(1).choice(args.rows, PROBES, replace=False)
    truth = nearest(vectors, probes, cosine=True)
    print(f"{args.rows:,} rows, {PROBES:,} probes, k={K}; load average {os.getloadavg()[0]:.2f}")
    for name, params in (
        ("full fit", UmapParams(fit_sample=max(args.rows, 1000))),
        (f"fit on {args.fit_sample:,} + transform", UmapParams(fit_sample=args.fit_sample)),
    ):
        started = time.perf_counter()
        xy = project(vectors, params)
        seconds = time.perf_counter() - started
        kept, same_topic = scores(xy, truth, probes, topic)
        print(
            f"  {name:<28} {seconds:7.1f} s  kNN preservation@{K} {kept:.3f}  topic agreement@{K} {same_topic:.3f}"
            f"  (load {os.getloadavg()[0]:.2f})",
            flush=True,
        )


if __name__ == "__main__":
    main()
