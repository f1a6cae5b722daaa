"""How much Dagster adds: the full default recipe on the demo data, through Dagster and with steps called directly.

Each path runs in its own fresh process on its own fresh data directory (ingest included), so both pay the
same model load and numba compilation. Usage:

    PYTHONPATH=. HF_HUB_OFFLINE=1 python bench/dagster_overhead.py [--rows N] [--recipe NAME] [--repeat K]

Prints one JSON line per run and a summary with the ratio dagster / direct (median over repeats).
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

from bench.machine import SAMPLE, machine_line

ROOT = Path(__file__).resolve().parents[1]


def one_run(mode: str, source: str, recipe: str) -> None:
    """The measured body, in a child process: ingest + every stage, then print the wall time."""
    from ls_pipeline.store import DataDir, resolve_data_dir

    data = DataDir(resolve_data_dir())
    started = time.perf_counter()
    if mode == "dagster":
        from ls_pipeline.runs.runner import run_in_dagster

        ids = run_in_dagster(data, "demo", recipe, source=Path(source))
    else:
        from ls_pipeline import api

        api.ingest("demo", source)
        ids = api.run("demo", recipe)
    print(json.dumps({"mode": mode, "seconds": round(time.perf_counter() - started, 2), "ids": ids}))


def measure(mode: str, source: Path, recipe: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix=f"ls-bench-{mode}-") as tmp:
        env = {**os.environ, "LATENT_SCOPE_DATA": f"{tmp}/data", "DAGSTER_HOME": f"{tmp}/home"}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        args = [sys.executable, __file__, "--child", mode, "--source", str(source), "--recipe", recipe]
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{mode} run failed: {done.stderr.strip().splitlines()[-1:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=0, help="first N demo rows (default: all 3,000)")
    parser.add_argument("--recipe", default="default")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--child", choices=["dagster", "direct"], help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        one_run(args.child, args.source, args.recipe)
        return
    print(machine_line(), flush=True)  # the parent's line: a child's output is parsed
    import pandas as pd

    with tempfile.TemporaryDirectory(prefix="ls-bench-") as tmp:
        source = Path(tmp) / "debian-demo.parquet"
        frame = pd.read_parquet(SAMPLE)
        (frame.head(args.rows) if args.rows else frame).to_parquet(source, index=False)
        times: dict[str, list[float]] = {"direct": [], "dagster": []}
        for _ in range(args.repeat):
            for mode in ("direct", "dagster"):
                result = measure(mode, source, args.recipe)
                print(json.dumps(result), flush=True)
                times[mode].append(float(result["seconds"]))
    direct, dagster = statistics.median(times["direct"]), statistics.median(times["dagster"])
    summary = {"rows": args.rows or len(frame), "recipe": args.recipe, "direct_s": direct, "dagster_s": dagster}
    print(json.dumps({**summary, "ratio": round(dagster / direct, 3), "overhead_s": round(dagster - direct, 2)}))


if __name__ == "__main__":
    main()
