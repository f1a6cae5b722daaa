"""Ways to count 5 facets under filters on two of the charted columns, interleaved in one process: a grouped query
per chart, one scan for all charts (GROUPING SETS, or UNION ALL over a materialized CTE), and the numpy path the
viewer runs (viewer/facet_queries.py); then the numpy ways to count one chart's codes under a mask.

    PYTHONPATH=$PWD python bench/facets_alternatives.py [/tmp/ls-bench-explore] [--rows 1000000] [--repeat 15]

The data is explore_analyst.py's tiled dataset of that many rows (made on first use); the filter is its "category
and date range": section in three values and a release date from 2018. The SQL alternatives count what the charts
count (each under every filter but its own column's) without the top-k and formatting the viewer adds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from starlette.datastructures import QueryParams

sys.path.insert(0, str(Path(__file__).resolve().parent))
from explore_analyst import FACETS, build_base, tile  # noqa: E402

from bench.machine import machine_line  # noqa: E402
from viewer import facet_queries  # noqa: E402
from viewer.db import Database, ScopeSource  # noqa: E402
from viewer.facets import facet_kinds, parse_facets  # noqa: E402
from viewer.filters import Resolved, column_types, parse_filter  # noqa: E402
from viewer.settings import Limits  # noqa: E402

SECTIONS = ["libs", "python", "devel"]
SINCE = "2018-01-01T00:00:00Z"
IN_SECTIONS = "list_contains($sections, t.section)"
RECENT = "t.released >= $since"
DAY = "CAST(floor(epoch(t.released) / 86400) AS BIGINT)"
WORDS = "CAST(floor(CAST(t.words AS DOUBLE) / 5) AS BIGINT)"  # the bins' arithmetic, without their edge checks
# Each chart: its column's expression and the filters it counts under (every filter but its own column's).
CHARTS = {
    "section": ("t.section", [RECENT]),
    "priority": ("t.priority", [IN_SECTIONS, RECENT]),
    "words": (WORDS, [IN_SECTIONS, RECENT]),
    "released": (DAY, [IN_SECTIONS]),
    "cluster": ("t.cluster", [IN_SECTIONS, RECENT]),
}


def per_chart(run: Callable[[str], Any], table: str) -> None:
    for value, conditions in CHARTS.values():
        run(f"SELECT {value} AS v, count(*) FROM {table} t WHERE {' AND '.join(conditions)} GROUP BY 1")


def one_scan_sql(table: str) -> tuple[str, str]:
    values = ", ".join(f"{value} AS {name}" for name, (value, _) in CHARTS.items())
    rows = f"SELECT {values}, {IN_SECTIONS} AS p_section, {RECENT} AS p_released FROM {table} t"
    names = list(CHARTS)
    counts = ", ".join(
        f"count(*) FILTER (WHERE {' AND '.join(p for p in ('p_section', 'p_released') if p != 'p_' + name)})"
        f" AS n_{name}"
        for name in ("section", "released", "priority")
    )
    grouping = (
        f"SELECT {', '.join(names)}, {counts} FROM r GROUP BY GROUPING SETS ({', '.join(f'({n})' for n in names)})"
    )
    union = " UNION ALL ".join(
        f"SELECT '{name}' AS chart, {name}::VARCHAR AS v, count(*) AS n FROM r "
        f"WHERE {' AND '.join(p for p in ('p_section', 'p_released') if p != 'p_' + name)} GROUP BY 2"
        for name in names
    )
    return f"WITH r AS ({rows}) {grouping}", f"WITH r AS MATERIALIZED ({rows}) {union}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", default="/tmp/ls-bench-explore")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    root = Path(args.data)
    root.mkdir(parents=True, exist_ok=True)
    name = tile(root, build_base(root), args.rows)
    meta = json.loads((root / name / "meta.json").read_text())
    scope_path = next((root / name / "scopes").glob("*.parquet"))
    src = ScopeSource(scope_path, root / name / "input.parquet", tuple(meta["columns"]), "text")
    database, limits = Database(time_limit_ms=60_000), Limits()
    where = [{"column": "section", "op": "in", "value": SECTIONS}, {"column": "released", "op": ">=", "value": SINCE}]
    query = QueryParams([*(("column", c) for c in FACETS), ("where", json.dumps(where))])
    bound = {"sections": SECTIONS, "since": SINCE}
    print(machine_line() + "\n")
    with database.lease(src) as table:

        def run(sql: str, params: dict[str, Any] | None = None, relations: Any = None) -> Any:
            return database.table(sql, bound if params is None else params, None, relations)

        def viewer() -> None:
            f = parse_filter(query, column_types(meta), limits)
            scope = facet_queries.Scope(run, table, src, f, Resolved(), facet_kinds(meta), {})
            facet_queries.facets(scope, parse_facets(query, meta, False, limits))

        grouping, union = one_scan_sql(table)
        ways = {
            "a grouped query per chart": lambda: per_chart(run, table),
            "one scan: GROUPING SETS, a count per mask": lambda: run(grouping),
            "one scan: UNION ALL over a materialized CTE": lambda: run(union),
            "the viewer: masks once, codes kept, a bincount a chart": viewer,
        }
        viewer()  # makes the kept codes
        report(ways, args.repeat, f"{args.rows:,} rows, 5 facets under a category and a date range")
        codes = facet_queries.Table(run, table).values("section")
        mask = np.random.default_rng(0).random(len(codes.codes)) < 0.5
        wide = codes.codes.astype(np.int64)
        positions = np.flatnonzero(mask)
        counting = {
            "codes[mask], bincount": lambda: np.bincount(codes.codes[mask], minlength=codes.size),
            "bincount of (code, in mask) pairs": lambda: np.bincount((wide << 1) | mask, minlength=2 * codes.size),
            "flatnonzero(mask) once": lambda: np.flatnonzero(mask),
            "codes.take(positions), bincount": lambda: np.bincount(codes.codes.take(positions), minlength=codes.size),
        }
        report(counting, args.repeat * 4, f"{args.rows:,} rows, one chart's codes under a mask of half the rows")


def report(ways: dict[str, Callable[[], Any]], repeat: int, what: str) -> None:
    times: dict[str, list[float]] = {way: [] for way in ways}
    for _ in range(repeat):  # interleaved: the load changes over the run
        for way, call in ways.items():
            start = time.perf_counter()
            call()
            times[way].append((time.perf_counter() - start) * 1000)
    print(f"| {what} | p50 ms | p90 ms |\n|---|---|---|")
    for way, ms in times.items():
        print(f"| {way} | {statistics.median(ms):.2f} | {sorted(ms)[int(0.9 * (len(ms) - 1))]:.2f} |")
    print(f"\n{machine_line()}\n", flush=True)


if __name__ == "__main__":
    main()
