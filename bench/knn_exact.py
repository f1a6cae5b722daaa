"""Exact neighbours (blocked inner products) against NNDescent (UMAP's own search), to choose the row count up to
which the UMAP stages compute their neighbour graph exactly.

Each size runs in a fresh process, one after another: NNDescent's first call there pays pynndescent's numba compile
(nn_descent cannot be cached on disk: "uses dynamic globals"), measured as a first call on 5,000 rows minus a second
identical call; then NNDescent on N rows warm; then exact search with faiss (`IndexFlatIP`, all cores) and with
plain numpy blocks (argpartition). Recall@k of NNDescent against the exact graph (self excluded) comes with it.

Vectors: an embedding file (--vectors FILE.h5, dataset "embeddings"), its first N rows; or, where N is larger than
the file, its rows repeated with Gaussian noise (sigma 0.02 a dimension, as bench/million.py), normalized.

Run: PYTHONPATH=$PWD .venv/bin/python bench/knn_exact.py --vectors E.h5 [--sizes 5000,50000,200000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from bench.machine import load, machine_line

CHILD = """
import json, sys, time
import h5py, numpy as np
from ls_pipeline.stages import umap as u
from ls_pipeline.stages import exact_knn
path, n, k, skip_nnd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"

def numpy_knn(x, k, block=1024):  # the same cosine graph's indices, plain numpy blocks and argpartition
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    out = np.empty((len(x), k), dtype=np.int64)
    for start in range(0, len(x), block):
        sims = x[start : start + block] @ x.T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1)
        out[start : start + block] = np.take_along_axis(top, order, axis=1)
    return out

with h5py.File(path, "r") as f:
    base = f["embeddings"][:n].astype(np.float32)
if n <= len(base):
    v = base[:n]
else:
    rng = np.random.default_rng(0)
    v = base[np.arange(n) % len(base)] + rng.normal(scale=0.02, size=(n, base.shape[1])).astype(np.float32)
v = np.unique(v / np.linalg.norm(v, axis=1, keepdims=True), axis=0)
p = u.UmapParams(neighbors=k)
out = {"rows": len(v)}
t = time.perf_counter(); ie, de = exact_knn.exact_knn(v, k, "cosine"); out["exact_faiss_s"] = time.perf_counter() - t
t = time.perf_counter(); i2 = numpy_knn(v, k); out["exact_numpy_s"] = time.perf_counter() - t
out["faiss_numpy_same"] = float((np.sort(ie, axis=1) == np.sort(i2, axis=1)).mean())
if not skip_nnd:
    small = v[:5000]
    t = time.perf_counter(); u.nndescent_graph(small, p); first = time.perf_counter() - t
    t = time.perf_counter(); u.nndescent_graph(small, p); second = time.perf_counter() - t
    out["nndescent_compile_s"] = first - second
    t = time.perf_counter(); ia, da = u.nndescent_graph(v, p); out["nndescent_warm_s"] = time.perf_counter() - t
    hits = [len(set(a[1:]) & set(b[1:])) for a, b in zip(ia, ie)]
    out["nndescent_recall"] = sum(hits) / (len(v) * (k - 1))
print(json.dumps({key: round(val, 4) if isinstance(val, float) else val for key, val in out.items()}))
"""



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=Path, required=True)
    parser.add_argument("--sizes", default="5000,50000,200000")
    parser.add_argument("--neighbors", type=int, default=25)
    parser.add_argument("--skip-nndescent-above", type=int, default=10**9, help="exact only above this many rows")
    args = parser.parse_args()
    print(machine_line(), flush=True)
    for n in map(int, args.sizes.split(",")):
        before = load()
        skip = "1" if n > args.skip_nndescent_above else "0"
        cmd = [sys.executable, "-c", CHILD, str(args.vectors), str(n), str(args.neighbors), skip]
        result = json.loads(subprocess.check_output(cmd, text=True).strip().splitlines()[-1])
        print(json.dumps({"n": n, **result, "load_before": before, "load_after": load()}), flush=True)


if __name__ == "__main__":
    main()
