"""What a new process pays before its first UMAP: imports plus numba compilation, measured as the first UMAP call
minus a second, identical-shaped call in the same process. Processes run one after another on one numba cache
folder: the first (cold, an empty folder) compiles and fills it, later ones (warm) load from it. --no-cache shows
what every process paid before the cache (each compiles again).

Run: PYTHONPATH=$PWD .venv/bin/python bench/numba_compile.py [--rows 500] [--runs 3] [--no-cache]
(--rows 5000 also takes the separate nearest-neighbour path, NNDescent, that larger datasets use)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from bench.machine import load, machine_line

CHILD = """
import json, sys, time
import numpy as np
started = time.perf_counter()
if sys.argv[2] == "off":
    import ls_pipeline.jit_cache as jc
    jc.cached_import = lambda name: __import__("importlib").import_module(name)  # as before: no on-disk cache
    import ls_pipeline.stages.umap as u
    u.cached_import = jc.cached_import
from ls_pipeline.stages.umap import UmapParams, project
rng = np.random.default_rng(0)
v = rng.normal(size=(int(sys.argv[1]), 384)).astype(np.float32)
v /= np.linalg.norm(v, axis=1, keepdims=True)
project(v, UmapParams(neighbors=15))
first = time.perf_counter() - started
started = time.perf_counter()
project(v, UmapParams(neighbors=15, min_dist=0.2))
print(json.dumps({"first_s": round(first, 1), "second_s": round(time.perf_counter() - started, 1)}))
"""



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3, help="fresh processes to start, one after another")
    parser.add_argument("--no-cache", action="store_true", help="without the on-disk cache (the old behaviour)")
    args = parser.parse_args()
    print(machine_line(), flush=True)
    print(f"load average before: {load()}")
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
        env = {**os.environ, "LS_NUMBA_CACHE": cache, "NUMBA_CACHE_DIR": ""}
        for run in range(args.runs):
            mode = "off" if args.no_cache else "on"
            out = subprocess.check_output([sys.executable, "-c", CHILD, str(args.rows), mode], text=True, env=env)
            r = json.loads(out.strip().splitlines()[-1])
            kind = "no cache" if args.no_cache else ("cold" if run == 0 else "warm")
            print(f"process {run + 1} ({kind}): first UMAP {r['first_s']} s, second UMAP {r['second_s']} s, "
                  f"per-process cost {r['first_s'] - r['second_s']:.1f} s", flush=True)  # fmt: skip
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
