"""Loopback load on the viewer: N concurrent clients for S seconds mixing search, rows (paging, filters, semantic)
and points, against the real server (`python -m viewer`) in its own process; prints a Markdown table of requests/s,
p50 and p99 per kind, the errors, and the server's resident memory before and after.

    PYTHONPATH=$PWD python bench/viewer_load.py DATA_DIR [--dataset ID] [--scope ID] [--clients 32] [--seconds 30]

The same load as tests/test_viewer_load.py (tests/load_client.py), on any data directory.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import httpx

from bench.machine import machine_line
from tests.load_client import describe, rss_bytes, run_load, table
from tests.viewer_support import serve_process


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--dataset", help="default: the first dataset")
    parser.add_argument("--scope", help="default: the dataset's last scope")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warm-up", type=float, default=4.0, help="seconds of the same load before measuring")
    args = parser.parse_args()
    print(machine_line(), flush=True)
    if not args.data_dir.is_dir():
        print(f"error: {args.data_dir} is not a data directory; build one with ls-run or bench/viewer_data.py")
        return 2
    with tempfile.TemporaryDirectory() as tmp, serve_process(args.data_dir, Path(tmp) / "viewer.log") as (base, proc):
        with httpx.Client(base_url=base, timeout=300) as http:
            datasets = [d["id"] for d in http.get("/api/datasets").json()]
            if not datasets:
                print(f"error: {args.data_dir} has no dataset; ingest one and run a recipe first (ls-run)")
                return 2
            dataset = args.dataset or datasets[0]
            scope = args.scope or http.get(f"/api/datasets/{dataset}/scopes").json()[-1]["id"]
            target = describe(http, dataset, scope)
            length = http.get(f"/api/datasets/{dataset}/meta").json()["length"]
            http.get(target.base + "/search?q=warm").raise_for_status()  # the model loaded before timing
        print(f"warming up {args.warm_up:.0f} s, then measuring {args.seconds:.0f} s ...", file=sys.stderr, flush=True)
        run_load(base, target, args.clients, args.warm_up)
        before = rss_bytes(proc.pid)
        result = run_load(base, target, args.clients, args.seconds)
        after = rss_bytes(proc.pid)
    load = f"{args.clients} clients for {args.seconds:.0f} s, {os.cpu_count()} cores"
    print(f"{dataset}/{scope} ({length:,} rows), {load}\n")
    print(table(result))
    print(f"\nserver RSS {before / 2**20:.0f} MiB before, {after / 2**20:.0f} MiB after ({after / before - 1:+.1%})")
    for error in result.errors[:5]:
        print("error:", error)
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
