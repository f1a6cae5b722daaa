"""What a new process pays before its first UMAP: numba compilation (plus imports), measured as the first
UMAP call minus a second, identical call in the same process. A Dagster step in its own process pays this
every time; a whole recipe run in one process (ls-run, or Dagster's in_process_executor) pays it once.

Run: PYTHONPATH=$PWD /work/main/.venv/bin/python bench/numba_compile.py [--rows 500] [--runs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = """
import json, sys, time
import numpy as np
started = time.perf_counter()
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
    parser.add_argument("--runs", type=int, default=2, help="fresh processes to start, one after another")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for run in range(args.runs):
        out = subprocess.check_output([sys.executable, "-c", CHILD, str(args.rows)], text=True)
        r = json.loads(out.strip().splitlines()[-1])
        print(f"process {run + 1}: first UMAP {r['first_s']} s, second UMAP {r['second_s']} s, "
              f"per-process cost {r['first_s'] - r['second_s']:.1f} s", flush=True)  # fmt: skip
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
