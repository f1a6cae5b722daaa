"""Viewer latency under N concurrent clients: p50/p99 of points, filtered rows, semantic rows and search.

    PYTHONPATH=$PWD python bench/viewer_data.py /tmp/ls-bench-data        # once: deb10k (real) and deb100k (tiled)
    PYTHONPATH=$PWD python bench/viewer_latency.py /tmp/ls-bench-data --clients 8 --requests 200

Starts the real server (`python -m viewer`) in a subprocess on a free loopback port and drives it with httpx async.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bench.machine import machine_line
from tests.load_client import QUERIES, WORDS  # the same query mix as the load test

REPO = Path(__file__).resolve().parents[1]
# Common Debian sections, so that the filtered scenario returns rows rather than an empty page.
SECTIONS = ["libs", "devel", "python", "utils", "misc", "net", "libdevel", "doc", "science", "text", "admin", "web"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "viewer", str(root), "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(base + "/api/app", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the viewer did not start")


def scenarios(ds: str, scope: str, clusters: list[int], sections: list[str]) -> dict[str, Callable[[int], str]]:
    base = f"/api/datasets/{ds}/scopes/{scope}"

    def rows_filtered(i: int) -> str:
        where = json.dumps([{"column": "section", "op": "in", "value": random.sample(sections, 4)}])
        cluster = "&".join(f"cluster={c}" for c in random.sample(clusters, 4))
        return f"{base}/rows?{cluster}&where={where}&text={WORDS[i % len(WORDS)]}&sort=-package&limit=50"

    return {
        "points": lambda i: f"{base}/points",
        "rows (cluster+where+text, sorted)": rows_filtered,
        "rows (q, k=100)": lambda i: f"{base}/rows?q={QUERIES[i % len(QUERIES)]}&k=100&limit=50",
        "search (k=20)": lambda i: f"{base}/search?q={QUERIES[i % len(QUERIES)]} {i}&k=20",
    }


async def run(base: str, url_for: Callable[[int], str], clients: int, total: int) -> dict[str, float]:
    latencies: list[float] = []
    counter = iter(range(total))

    async def worker(http: httpx.AsyncClient) -> None:
        for i in counter:
            start_t = time.perf_counter()
            response = await http.get(url_for(i))
            await response.aread()
            latencies.append((time.perf_counter() - start_t) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{url_for(i)} -> {response.status_code} {response.text[:200]}")

    began = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=httpx.Limits(max_connections=clients)) as http:
        await asyncio.gather(*(worker(http) for _ in range(clients)))
    wall = time.perf_counter() - began
    latencies.sort()
    return {
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "req_per_s": len(latencies) / wall,
    }


def matches(response: httpx.Response) -> str:
    if not response.headers["content-type"].startswith("application/json"):
        return ""
    body = response.json()
    return str(body.get("total", len(body.get("results", []))))


def describe(base: str, ds: str) -> tuple[str, list[int], list[str], int]:
    scope = httpx.get(f"{base}/api/datasets/{ds}/scopes").json()[-1]["id"]
    found = httpx.get(f"{base}/api/datasets/{ds}/scopes/{scope}/clusters").json()
    biggest = [c["cluster"] for c in sorted(found, key=lambda c: -c["count"])[:8]]  # filters that match rows
    meta = httpx.get(f"{base}/api/datasets/{ds}/meta").json()
    known = meta["column_metadata"]["section"].get("categories") or SECTIONS
    return scope, biggest, [s for s in SECTIONS if s in known], meta["length"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", nargs="?", default="/tmp/ls-bench-data")
    parser.add_argument("--datasets", nargs="+", default=["deb10k", "deb100k"])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=200, help="requests per scenario")
    args = parser.parse_args()
    print(machine_line(), flush=True)
    proc, base = start(Path(args.data))
    try:
        print(f"{args.clients} concurrent clients, {args.requests} requests per scenario\n")
        print("| rows | scenario | first request ms | p50 ms | p99 ms | req/s | response bytes | matches |")
        print("|---|---|---|---|---|---|---|---|")
        for ds in args.datasets:
            scope, clusters, sections, length = describe(base, ds)
            for name, url_for in scenarios(ds, scope, clusters, sections).items():
                t0 = time.perf_counter()
                first = httpx.get(base + url_for(0), timeout=300)
                first_ms = (time.perf_counter() - t0) * 1000
                stats = asyncio.run(run(base, url_for, args.clients, args.requests))
                print(
                    f"| {length:,} | {name} | {first_ms:.0f} | {stats['p50_ms']:.1f} | {stats['p99_ms']:.1f} "
                    f"| {stats['req_per_s']:.0f} | {len(first.content):,} | {matches(first)} |",
                    flush=True,
                )
    finally:
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    main()
