"""The facets route of two code trees interleaved: p50, p90 and p99 of the explore page's facet requests.

explore_analyst.py times one tree at a time, so on a shared machine a change of load between two runs can swamp the
difference. Here each tree serves the same data from its own `python -m viewer` process, and the trees take turns
request by request. The data and the requests are explore_analyst.py's: its tiled datasets (made on first use) and
5 charted columns (two categories, a number, a date, the cluster) under each of its filters.

    PYTHONPATH=$PWD python bench/facets_ab.py --tree before=/tmp/base --tree after=$PWD \
        [/tmp/ls-bench-explore] [--sizes 100000 1000000] [--repeat 100]

A tree is a checkout (PYTHONPATH selects its viewer). Prints the machine (CPU flags, load), then a row per size,
filter and tree, with the load average beside each; compare ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from explore_analyst import FACETS, add_data_arguments, load, prepare  # noqa: E402

from bench.machine import machine_line  # noqa: E402
from tests.viewer_support import serve  # noqa: E402


def scenarios(biggest: str) -> dict[str, list[tuple[str, str]]]:
    where = [
        {"column": "section", "op": "in", "value": ["libs", "python", "devel"]},
        {"column": "released", "op": ">=", "value": "2018-01-01T00:00:00Z"},
    ]
    return {
        "a cluster": [("cluster", biggest)],
        "a category and a date range": [("where", json.dumps(where))],
        "a cluster, with the scope's counts": [("cluster", biggest), ("baseline", "scope")],
        "a cluster, ranked by lift": [("cluster", biggest), ("rank", "lift")],
        "a regex keyword": [("text", r"\bgames?\b"), ("text_mode", "regex")],
    }


def percentile(times: list[float], share: float) -> float:
    ordered = sorted(times)
    return ordered[round(share * (len(ordered) - 1))]


def bench_size(bases: dict[str, str], name: str, scope: str, rows: int, repeat: int) -> None:
    columns = [("column", c) for c in FACETS]
    paths = {tree: f"{base}/api/datasets/{name}/scopes/{scope}" for tree, base in bases.items()}
    with httpx.Client(timeout=600) as client:
        first = next(iter(paths.values()))
        clusters = sorted(client.get(first + "/clusters").json(), key=lambda c: -c["count"])
        filters = scenarios(str(clusters[0]["cluster"]))
        answers = {}
        for tree, path in paths.items():
            client.get(path + "/rows", params={"limit": "1"}).raise_for_status()  # builds the scope's table
            start = time.perf_counter()  # the first facets: extents, and the kept codes where a tree keeps them
            answers[tree, "[]"] = client.get(path + "/facets", params=columns).json()
            first = (time.perf_counter() - start) * 1000
            print(f"| {rows:,} | no filter: the first request, one time | {tree} | {first:.0f} | | | {load()} |")
            for params in filters.values():  # the first of each: a keyword's rows found
                answers[tree, str(params)] = client.get(path + "/facets", params=columns + params).json()
        same = all(answers[t, k] == answers[next(iter(paths)), k] for t, k in answers)
        print(f"<!-- {rows:,} rows: every tree gave the same answers: {same} -->")
        for label, params in filters.items():
            times: dict[str, list[float]] = {tree: [] for tree in paths}
            for i in range(repeat):
                order = list(paths) if i % 2 == 0 else list(reversed(paths))  # neither tree always goes first
                for tree in order:
                    start = time.perf_counter()
                    client.get(paths[tree] + "/facets", params=columns + params).raise_for_status()
                    times[tree].append((time.perf_counter() - start) * 1000)
            for tree, ms in times.items():
                p50, p90, p99 = statistics.median(ms), percentile(ms, 0.9), percentile(ms, 0.99)
                print(f"| {rows:,} | {label} | {tree} | {p50:.1f} | {p90:.1f} | {p99:.1f} | {load()} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--tree", action="append", required=True, help="NAME=PATH of a checkout (two or more)")
    parser.add_argument("--repeat", type=int, default=100, help="timed requests per filter and tree")
    args = parser.parse_args()
    trees = dict(item.split("=", 1) for item in args.tree)
    root, scope, names = prepare(args)
    print(machine_line() + "\n")
    print("| rows | facets of 5 columns under | tree | p50 ms | p90 ms | p99 ms | load (1, 5, 15 min) |")
    print("|---|---|---|---|---|---|---|")
    with ExitStack() as servers:
        bases = {
            tree: servers.enter_context(serve(root, root / f"viewer-{tree}.log", Path(path)))
            for tree, path in trees.items()
        }
        for rows, name in names.items():
            bench_size(bases, name, scope, rows, args.repeat)


if __name__ == "__main__":
    main()
