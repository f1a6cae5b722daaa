"""The viewer's search and points latency on the same scope served from a local folder and from S3, in one run.

    PYTHONPATH=$PWD HF_HUB_OFFLINE=1 python bench/viewer_object_storage.py                  # builds 1,000 demo rows
    PYTHONPATH=$PWD HF_HUB_OFFLINE=1 python bench/viewer_object_storage.py DATA_DIR --dataset deb10k

The S3 store is the tests' moto server on 127.0.0.1 (its own process, signed requests); the data directory is
uploaded to a fresh bucket, and both viewers are called in process (Starlette's TestClient), alternating, so that
only the storage differs. "first search" includes copying the embedding file to the local cache (S3) and the first
memory map (local); p50s are over the requests after it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import DEMO, SMALL_RECIPE  # noqa: E402
from tests.load_client import QUERIES  # noqa: E402
from tests.s3_support import start_s3_server  # noqa: E402
from tests.viewer_support import in_process  # noqa: E402


def build(rows: int) -> Path:
    import pandas as pd

    from ls_pipeline import steps
    from ls_pipeline.recipe import parse_recipe
    from ls_pipeline.stages.ingest import IngestParams
    from ls_pipeline.store import DataDir

    root = Path(tempfile.mkdtemp(prefix="ls-bench-s3-")) / "data"
    data = DataDir(root)
    steps.ingest(data, "sample", pd.read_parquet(DEMO).head(rows), IngestParams(text_column="text"))
    steps.run_recipe(data.dataset("sample"), parse_recipe("small", SMALL_RECIPE))
    return root


def timed(client, url: str, **params: object) -> float:  # noqa: ANN001 - an httpx client
    start = time.perf_counter()
    answer = client.get(url, params=params)
    elapsed = (time.perf_counter() - start) * 1000
    assert answer.status_code == 200, answer.text[:300]
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("data_dir", nargs="?")
    parser.add_argument("--dataset", default="sample")
    parser.add_argument("--scope", default="scopes-001")
    parser.add_argument("--rows", type=int, default=1000, help="demo rows to build when no DATA_DIR is given")
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    root = Path(args.data_dir) if args.data_dir else build(args.rows)
    load_before = os.getloadavg()
    process, server = start_s3_server()
    try:
        os.environ.update(server.env())
        bucket = server.new_bucket()
        from ls_pipeline.store.location import parse_root

        remote = parse_root(f"s3://{bucket}/data")
        start = time.perf_counter()
        remote.fs.put(f"{root}/{args.dataset}/", f"{bucket}/data/{args.dataset}/", recursive=True)
        upload_s = time.perf_counter() - start
        scope = f"/api/datasets/{args.dataset}/scopes/{args.scope}"
        figures: dict[str, dict[str, list[float]]] = {}
        with in_process(root) as local_client, in_process(f"s3://{bucket}/data") as s3_client:
            clients = {"local": local_client, "s3 (moto, loopback)": s3_client}
            for name, client in clients.items():
                figures[name] = {"first search": [timed(client, scope + "/search", q="warm up", k=20)]}
                figures[name]["first points"] = [timed(client, scope + "/points")]
            for n in range(args.requests):
                for name, client in clients.items():  # alternating: both see the same machine load
                    figures[name].setdefault("search", []).append(
                        timed(client, scope + "/search", q=QUERIES[n % len(QUERIES)], k=20)
                    )
                    figures[name].setdefault("points", []).append(timed(client, scope + "/points"))
                    figures[name].setdefault("rows", []).append(timed(client, scope + "/rows", limit=50, offset=n))
    finally:
        process.kill()
    load_after = os.getloadavg()
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"\n{args.dataset}/{args.scope}, {args.requests} requests of each kind; upload {upload_s:.1f} s")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} ({uptime})\n")
    print("| data directory | first search ms | search p50 ms | points p50 ms | rows p50 ms |")
    print("|---|---:|---:|---:|---:|")
    for name, f in figures.items():
        p50 = {k: statistics.median(v) for k, v in f.items()}
        print(f"| {name} | {p50['first search']:.0f} | {p50['search']:.1f} | {p50['points']:.1f} | {p50['rows']:.1f} |")
    ratio = {
        k: statistics.median(figures["s3 (moto, loopback)"][k]) / statistics.median(figures["local"][k])
        for k in ("search", "points", "rows")
    }
    print("\nS3 / local p50: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratio.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
