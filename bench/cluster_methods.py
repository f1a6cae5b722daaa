"""hdbscan vs fast_hdbscan on 2D points, each in a fresh process (as a CLI or Dagster step pays it):
first call (import + numba compile for fast_hdbscan) and a second, warm call, at 10k and 60k points.

The points are a seeded stand-in for a UMAP layout (a few hundred Gaussian clumps of varied size and spread in
[-1, 1], plus 10% uniform noise), since a 60k-row UMAP takes minutes here; HDBSCAN's cost depends on the
point count and density, not on where the points came from.
Run: PYTHONPATH=$PWD .venv/bin/python bench/cluster_methods.py [--sizes 10000 60000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from bench.machine import machine_line

CHILD = """
import json, sys, time
import numpy as np
rng = np.random.default_rng(0)
n = int(sys.argv[1]); method = sys.argv[2]
centers = rng.uniform(-0.9, 0.9, size=(300, 2))
sizes = rng.dirichlet(np.ones(300)) * n * 0.9
parts = [c + rng.normal(0, rng.uniform(0.005, 0.03), size=(max(1, int(s)), 2)) for c, s in zip(centers, sizes)]
parts.append(rng.uniform(-1, 1, size=(n - sum(len(p) for p in parts), 2)))
xy = np.clip(np.vstack(parts), -1, 1).astype(np.float32)
started = time.perf_counter()
from ls_pipeline.stages.cluster import ClusterParams, cluster_points
params = ClusterParams(min_cluster_size=15, min_samples=5, method=method)
first_cluster, raw = cluster_points(xy, params)
first = time.perf_counter() - started
started = time.perf_counter()
cluster_points(xy, params)
warm = time.perf_counter() - started
print(json.dumps({"n": n, "method": method, "first_s": round(first, 2), "warm_s": round(warm, 2),
                  "clusters": int(raw.max() + 1), "noise": round(float((raw < 0).mean()), 3)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 60000])
    args = parser.parse_args()
    print(machine_line(), flush=True)
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("| points | method | first call in a new process (s) | warm call (s) | clusters | noise |")
    print("|---:|---|---:|---:|---:|---:|")
    for n in args.sizes:
        for method in ("hdbscan", "fast_hdbscan"):
            out = subprocess.check_output([sys.executable, "-c", CHILD, str(n), method], text=True)
            r = json.loads(out.strip().splitlines()[-1])
            print(f"| {n} | {method} | {r['first_s']} | {r['warm_s']} | {r['clusters']} | {r['noise']} |", flush=True)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
