"""`ls-run` with nothing to do: where a fresh process's time goes, and the run it no longer starts.

    PYTHONPATH=$PWD HF_HUB_OFFLINE=1 python bench/run_startup.py [/tmp/ls-bench-startup] [--rows 300] [--repeat 5]

Makes (once) a data directory holding ROWS demo rows run through Dagster with the default recipe, then times fresh
processes, interleaved (A, B, C, ... A, B, C): `ls-run` as shipped (every stage done and recorded by the instance's
last run: no run starts), `ls-run` with that record removed (a Dagster run of five reused stages, as before), the
same without Dagster (`--no-dagster`), and the imports alone: the CLI, Dagster, the definitions. Medians in seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.machine import load, machine_line

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DATASET = "startup"


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default="/tmp/ls-bench-startup", type=Path)
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import pandas as pd

    from ls_pipeline.runs.reuse import RECORD
    from tests.conftest import DEMO

    data = args.root / "data"
    env = {**os.environ, "LATENT_SCOPE_DATA": str(data), "HF_HUB_OFFLINE": "1"}
    env.pop("DAGSTER_HOME", None)
    record = data / "_dagster" / RECORD
    if not record.is_file():
        args.root.mkdir(parents=True, exist_ok=True)
        source = args.root / f"{DATASET}.parquet"
        pd.read_parquet(DEMO).head(args.rows).to_parquet(source, index=False)
        timed([str(BIN / "ls-run"), str(source)], env)
    kept = record.read_bytes()

    def full_run() -> list[str]:
        record.unlink(missing_ok=True)  # the run writes it again
        return [str(BIN / "ls-run"), DATASET]

    python = [sys.executable, "-c"]
    cases = {
        "ls-run, nothing to do (no run starts)": lambda: [str(BIN / "ls-run"), DATASET],
        "ls-run, a Dagster run of reused stages": full_run,
        "ls-run --no-dagster": lambda: [str(BIN / "ls-run"), DATASET, "--no-dagster"],
        "import ls_pipeline.cli": lambda: [*python, "import ls_pipeline.cli"],
        "import ls_pipeline.steps": lambda: [*python, "import ls_pipeline.steps"],
        "import dagster": lambda: [*python, "import dagster"],
        "import ls_pipeline.definitions": lambda: [*python, "import ls_pipeline.definitions"],
    }
    print(machine_line(), flush=True)
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.repeat):
        for name, command in cases.items():
            samples[name].append(timed(command(), env))
        record.write_bytes(kept)
    print(f"load average after: {load()}")
    print("| fresh process | median s | min s |\n|---|---:|---:|")
    for name, values in samples.items():
        print(f"| {name} | {statistics.median(values):.2f} | {min(values):.2f} |")


if __name__ == "__main__":
    main()
