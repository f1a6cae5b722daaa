"""The viewer's search and points latency on the same scope served from a local folder and from S3, in one run.

    PYTHONPATH=$PWD HF_HUB_OFFLINE=1 python bench/viewer_object_storage.py                  # builds 1,000 demo rows
    PYTHONPATH=$PWD HF_HUB_OFFLINE=1 python bench/viewer_object_storage.py DATA_DIR --dataset deb10k

The S3 store is the tests' moto server on 127.0.0.1 (its own process, signed requests); the data directory is
uploaded to a fresh bucket, and the viewers are called in process (Starlette's TestClient), alternating, so that
only the storage differs. S3 is served twice: with no metadata answers kept (LATENT_SCOPE_STORE_METADATA_TTL_SEC=0,
every request asks the store) and with the default TTL. "first search" (after the query model is loaded) includes
copying the embedding file to the local cache (S3) and the first memory map (local); p50s are over the requests
after it. After the timings, one more request of each kind per S3 viewer counts its requests to the store (moto's
recorder).
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.machine import machine_line  # noqa: E402
from tests.conftest import DEMO, SMALL_RECIPE  # noqa: E402
from tests.load_client import QUERIES  # noqa: E402
from tests.s3_support import start_s3_server  # noqa: E402
from tests.viewer_support import in_process  # noqa: E402
from viewer.settings import DEFAULT_METADATA_TTL_S, METADATA_TTL_ENV  # noqa: E402

LOCAL = "local folder"
S3_NO_TTL = "s3://, TTL 0 (every request asks the store)"
S3_TTL = f"s3://, TTL {DEFAULT_METADATA_TTL_S:g} s (default)"


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
    print(machine_line(), flush=True)
    root = Path(args.data_dir) if args.data_dir else build(args.rows)
    load_before = os.getloadavg()
    process, server = start_s3_server()
    try:
        os.environ.update(server.env())  # botocore reads the endpoint and keys from this process's environment
        bucket = server.new_bucket()
        from ls_pipeline.store.location import parse_root

        remote = parse_root(f"s3://{bucket}/data")
        start = time.perf_counter()
        remote.fs.put(f"{root}/{args.dataset}/", f"{bucket}/data/{args.dataset}/", recursive=True)
        upload_s = time.perf_counter() - start
        scope = f"/api/datasets/{args.dataset}/scopes/{args.scope}"
        figures: dict[str, dict[str, list[float]]] = {}
        url = f"s3://{bucket}/data"
        with (
            in_process(root) as local_client,
            in_process(url, **{METADATA_TTL_ENV: "0"}) as uncached_client,
            in_process(url) as cached_client,
        ):
            clients = {LOCAL: local_client, S3_NO_TTL: uncached_client, S3_TTL: cached_client}
            # The query model is loaded first (shared by the three in this process): "first search" is the storage's.
            model_id = local_client.get(scope).json()["embedding"]["model_id"]
            local_client.app.state.embedder.warm(model_id)
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
            made = {name: store_requests(server, bucket, clients[name], scope) for name in (S3_NO_TTL, S3_TTL)}
    finally:
        process.kill()
    load_after = os.getloadavg()
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"\n{args.dataset}/{args.scope}, {args.requests} requests of each kind; upload {upload_s:.1f} s")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} ({uptime})\n")
    print("| data directory | first search | search p50 | points p50 | rows p50 | store requests search/points/rows |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, f in figures.items():
        p50 = {k: statistics.median(v) for k, v in f.items()}
        counts = "/".join(str(made[name][k]) for k in ("search", "points", "rows")) if name in made else "-"
        print(
            f"| {name} | {p50['first search']:.0f} ms | {p50['search']:.1f} ms | {p50['points']:.1f} ms "
            f"| {p50['rows']:.1f} ms | {counts} |"
        )
    # The p50 hides the requests that find their answers expired (about one in every TTL's worth): the means show them.
    print()
    for name, f in figures.items():
        print(f"mean, {name}: " + ", ".join(f"{k} {statistics.fmean(f[k]):.1f} ms" for k in KINDS))
    for name in (S3_NO_TTL, S3_TTL):
        ratio = {k: statistics.median(figures[name][k]) / statistics.median(figures[LOCAL][k]) for k in made[name]}
        print(f"\n{name} / local p50: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratio.items()))
    return 0


KINDS: dict[str, tuple[str, dict[str, object]]] = {
    "search": ("/search", {"q": "network tools", "k": 20}),
    "points": ("/points", {}),
    "rows": ("/rows", {"limit": 50}),
}


def store_requests(server, bucket: str, client, scope: str) -> dict[str, int]:  # noqa: ANN001
    """How many requests to the bucket one request of each kind makes (moto's recorder)."""
    import httpx

    api = server.endpoint + "/moto-api/recorder/"
    counts = {}
    for kind, (route, params) in KINDS.items():
        httpx.post(api + "reset-recording")
        httpx.post(api + "start-recording")
        try:
            timed(client, scope + route, **params)
            log = httpx.get(api + "download-recording").text
        finally:
            httpx.post(api + "stop-recording")
        counts[kind] = sum(1 for line in log.splitlines() if f"/{bucket}" in json.loads(line)["url"])
    return counts


if __name__ == "__main__":
    sys.exit(main())
