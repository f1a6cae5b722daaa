"""What steps on Celery workers cost: the same recipe on the same rows with `ls-run` in one process, then through
Dagster's celery executor on loopback (redis-server broker, PostgreSQL instance, two worker nodes, `light` on the
default queue and `heavy` with two processes on ls_gpu and ls_memory), with the data directory local and on the
moto S3 server; one run each. Prints each step's seconds (STEP_START to STEP_SUCCESS in the run's event log, where
the step ran), the end to end seconds of `ls-run` (ingest and recipe) and the ratio to one process.

Every run starts from an empty data directory (no vector cache, no artifact to reuse) and uses one torch thread
(OMP_NUM_THREADS=1), as the workers of tests/workers_support.py do. The services are those of the tests.

Run: PYTHONPATH=$PWD HF_HUB_OFFLINE=1 .venv/bin/python bench/workers_celery.py --rows 300
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.machine import add_data_argument, data_file, distinct_texts, load, machine_line

RECIPE = """
description: the bench's recipe (tests/conftest.py's SMALL_RECIPE)
umap: {neighbors: 10, min_dist: 0.1, seed: 7}
cluster: {min_cluster_size: 8, min_samples: 3}
checks: {max_noise_share: 0.9, min_clusters: 2, max_clusters: 200}
"""
LS_RUN = "import sys; from ls_pipeline import cli; sys.exit(cli._run(sys.argv[1:]))"
STEPS = ("ingest", "embedding", "umap", "clusters", "labels", "scope")


def ls_run(env: dict[str, str], source: Path, recipe: Path, cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", LS_RUN, str(source), "--recipe", str(recipe)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"ls-run failed: {done.stderr.strip().splitlines()[-1:]}")
    return seconds


def step_seconds(home: Path) -> dict[str, float]:
    """Each step's seconds in the newest ingest and recipe runs of the instance in `home`."""
    import dagster as dg

    seconds: dict[str, float] = {}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for job in ("ingest_job", "recipe_job"):
            (run,) = instance.get_runs(dg.RunsFilter(job_name=job), limit=1)
            starts: dict[str, float] = {}
            for entry in instance.all_logs(run.run_id):
                event = entry.dagster_event
                if event is None or entry.step_key is None:
                    continue
                if event.event_type == dg.DagsterEventType.STEP_START:
                    starts[entry.step_key] = entry.timestamp
                elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
                    seconds[entry.step_key] = entry.timestamp - starts[entry.step_key]
    return seconds



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300)
    add_data_argument(parser)
    args = parser.parse_args()
    print(machine_line(), flush=True)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.s3_support import aws_settings
    from tests.workers_support import DEFAULT_QUEUE, HEAVY_QUEUES, loopback_workers

    folder = Path(tempfile.mkdtemp(prefix="ls-bench-celery-"))
    source = folder / "rows.csv"
    distinct_texts(data_file(args.data, args.rows), args.rows).to_csv(source, index=False)
    recipe = folder / "bench.yaml"
    recipe.write_text(RECIPE)
    results: dict[str, dict[str, Any]] = {}
    try:
        local = folder / "in_process"
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "LATENT_SCOPE_DATA": str(local / "data")}
        for name in ("LS_EXECUTOR", "DAGSTER_HOME"):
            env.pop(name, None)
        before = load()
        total = ls_run(env, source, recipe, folder)
        results["one process"] = {"total": total, "steps": step_seconds(local / "data" / "_dagster"), "load": before}
        print(f"one process: {total:.1f}s (load {before} / {load()})", flush=True)

        (folder / "cluster").mkdir()
        with loopback_workers(folder / "cluster") as cluster:
            # To read the shared instance's event log here: its dagster.yaml names this variable, which Dagster reads
            # from the environment.
            os.environ["LS_POSTGRES_URL"] = cluster.postgres_url
            before = load()
            total = ls_run(cluster.env(), source, recipe, folder)
            with aws_settings(cluster.s3, cluster.scratch):
                results["celery, data on S3"] = {"total": total, "steps": step_seconds(cluster.home), "load": before}
            print(f"celery, data on S3: {total:.1f}s (load {before} / {load()})", flush=True)

            cluster.close()  # the workers read LATENT_SCOPE_DATA in their own process: restart them on a local one
            cluster.workers = {}
            cluster.data = str(folder / "celery_local" / "data")
            cluster.start_worker("light", DEFAULT_QUEUE, 1, folder / "light2.log")
            cluster.start_worker("heavy", HEAVY_QUEUES, 2, folder / "heavy2.log")
            cluster.wait_for_workers()
            before = load()
            total = ls_run(cluster.env(), source, recipe, folder)
            results["celery, data local"] = {"total": total, "steps": step_seconds(cluster.home), "load": before}
            print(f"celery, data local: {total:.1f}s (load {before} / {load()})", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    base = results["one process"]["total"]
    print(f"\n{args.rows} rows, one run each; seconds")
    print("| step | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for step in STEPS:
        print(f"| {step} | " + " | ".join(f"{r['steps'].get(step, float('nan')):.1f}" for r in results.values()) + " |")
    print("| sum of steps | " + " | ".join(f"{sum(r['steps'].values()):.1f}" for r in results.values()) + " |")
    print("| ls-run end to end | " + " | ".join(f"{r['total']:.1f}" for r in results.values()) + " |")
    print("| ratio to one process | " + " | ".join(f"{r['total'] / base:.2f}" for r in results.values()) + " |")
    print("| load average at start | " + " | ".join(r["load"] for r in results.values()) + " |")


if __name__ == "__main__":
    main()
