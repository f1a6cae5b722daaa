"""`ls-run` on the same rows to a local data directory and to a loopback S3 server (moto), in one run.

    PYTHONPATH=$PWD .venv/bin/python bench/object_storage.py --rows 2000 [--data FILE]

Each run is a fresh `ls-run FILE` process (model load and numba compilation paid alike) into a fresh data directory,
alternating local and S3 (`--repeat` pairs), so a machine getting busier shows up in both. Prints the wall time of
each run, each stage's own time from its sidecar, and the ratio of the S3 median to the local median.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.machine import add_data_argument, data_file, machine_line  # noqa: E402
from tests.s3_support import start_s3_server  # noqa: E402

STAGES = ("embedding", "umap", "cluster", "labels", "scope")


def run(target: str, csv: Path, env: dict[str, str]) -> tuple[float, dict[str, float]]:
    started = time.perf_counter()
    done = subprocess.run(
        [str(Path(sys.executable).with_name("ls-run")), str(csv)],
        env={**env, "LATENT_SCOPE_DATA": target},
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"ls-run to {target} failed: {done.stderr[-2000:]}")
    ids = dict(line.split(": ", 1) for line in done.stdout.strip().splitlines())
    from ls_pipeline.store import DataDir
    from ls_pipeline.store.location import parse_root

    ds = DataDir(parse_root(target)).dataset(csv.stem)
    stage_s = {kind: float(ds.sidecar(kind, ids[kind]).wall_time_s) for kind in STAGES}
    return wall, stage_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    add_data_argument(parser)
    parser.add_argument("--repeat", type=int, default=2, help="local/S3 pairs")
    args = parser.parse_args()
    print(machine_line(), flush=True)
    work = Path(tempfile.mkdtemp(prefix="ls-bench-s3-"))
    csv = work / "packages.csv"
    data = data_file(args.data, args.rows)
    pd.read_parquet(data).sample(args.rows, random_state=7).to_csv(csv, index=False)
    process, server = start_s3_server()
    try:
        env = {**os.environ, **server.env(), "HF_HUB_OFFLINE": "1", "LATENT_SCOPE_SCRATCH": str(work / "scratch")}
        os.environ.update(server.env())  # botocore reads the endpoint and keys from this process's environment
        results = []
        targets = []
        for n in range(args.repeat):
            targets += [("local", str(work / f"local-{n}")), ("s3", f"s3://{server.new_bucket()}/data")]
        for label, target in targets:
            load = os.getloadavg()[0]
            wall, stage_s = run(target, csv, env)
            results.append((label, wall, stage_s, load))
            print(f"{label:12} {wall:7.1f} s  " + "  ".join(f"{k} {v:.1f}" for k, v in stage_s.items()), flush=True)
    finally:
        process.kill()
    local = statistics.median(r[1] for r in results if r[0] == "local")
    s3 = statistics.median(r[1] for r in results if r[0] == "s3")
    summary = {
        "rows": args.rows,
        "runs": [{"target": r[0], "wall_s": round(r[1], 1), "stages_s": r[2], "load_1min": r[3]} for r in results],
        "s3_over_local": round(s3 / local, 3),
    }
    print(json.dumps(summary, indent=2))
    loads = ", ".join(f"{r[3]:.1f}" for r in results)
    print(f"ls-run to S3 / local (medians): {s3 / local:.2f}x ({args.rows} rows; load at each start {loads})")


if __name__ == "__main__":
    main()
