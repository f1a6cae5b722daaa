"""A bounded loopback load client for the viewer: N concurrent asyncio clients for S seconds mixing search, rows
(paging, filters, semantic) and points; per-kind latency percentiles, errors, and the server's resident memory.

Shared by tests/test_viewer_load.py and bench/viewer_load.py so that the test and the README figures measure the
same load.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

QUERIES = [
    "a game to play with friends",
    "python library for parsing json",
    "font for terminals",
    "music player",
    "database server",
    "documentation for a compiler",
    "network monitoring tool",
    "scientific plotting",
    "email client",
    "kernel module",
]
WORDS = ["lib", "data", "tool", "python", "file", "server", "the", "for", "and", "package"]
UrlFor = Callable[[random.Random], str]


@dataclass(frozen=True)
class Target:
    """What the mix needs to know of the scope: its URL, a few cluster ids and values of a categorical column."""

    base: str
    clusters: list[int]
    column: str
    values: list[str]


def describe(http: httpx.Client, dataset: str, scope: str) -> Target:
    base = f"/api/datasets/{dataset}/scopes/{scope}"
    clusters = [c["cluster"] for c in http.get(base + "/clusters").raise_for_status().json()]
    profiles = http.get(f"/api/datasets/{dataset}/meta").raise_for_status().json()["column_metadata"]
    column, profile = min(
        ((c, p) for c, p in profiles.items() if p.get("categories")),
        key=lambda item: len(item[1]["categories"]),
        default=("", {"categories": []}),
    )
    return Target(base, clusters, column, list(profile["categories"]))


def mix(t: Target) -> dict[str, tuple[float, UrlFor]]:
    """Request kinds with their share of the load."""

    def rows_page(r: random.Random) -> str:
        sort = r.choice(["-ls_index", "x", "-label"])
        return f"{t.base}/rows?offset={r.randrange(0, 250)}&limit={r.randint(1, 100)}&sort={sort}"

    def rows_filtered(r: random.Random) -> str:
        parts = [f"cluster={c}" for c in r.sample(t.clusters, min(3, len(t.clusters)))]
        if t.values:
            where = [{"column": t.column, "op": "in", "value": r.sample(t.values, min(4, len(t.values)))}]
            parts.append("where=" + json.dumps(where))
        parts.append(f"text={r.choice(WORDS)}")
        return f"{t.base}/rows?{'&'.join(parts)}&limit=50"

    def rows_semantic(r: random.Random) -> str:
        return f"{t.base}/rows?q={r.choice(QUERIES)}&k={r.randint(10, 200)}&limit=25"

    def search(r: random.Random) -> str:
        return f"{t.base}/search?q={r.choice(QUERIES)} {r.choice(WORDS)}&k={r.randint(1, 50)}"

    def points(r: random.Random) -> str:
        return f"{t.base}/points" + (f"?color_by={t.column}" if t.column and r.random() < 0.5 else "")

    return {
        "search": (0.25, search),
        "rows (page, sorted)": (0.2, rows_page),
        "rows (cluster+where+text)": (0.2, rows_filtered),
        "rows (q, k)": (0.15, rows_semantic),
        "points": (0.2, points),
    }


@dataclass
class LoadResult:
    clients: int
    seconds: float
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies_ms.values())

    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float, kind: str | None = None) -> float:
        values = sorted(self.latencies_ms[kind] if kind else [x for v in self.latencies_ms.values() for x in v])
        return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")


def _valid(kind: str, response: httpx.Response) -> bool:
    if response.status_code != 200:
        return False
    if kind == "points":
        return response.headers["content-type"] == "application/vnd.apache.arrow.stream" and len(response.content) > 0
    body: Any = response.json()
    return isinstance(body.get("results" if kind == "search" else "rows"), list)


async def _drive(base: str, kinds: dict[str, tuple[float, UrlFor]], clients: int, seconds: float) -> LoadResult:
    names = list(kinds)
    weights = [kinds[n][0] for n in names]
    result = LoadResult(clients, seconds, {n: [] for n in names})
    deadline = time.perf_counter() + seconds

    async def client(number: int, http: httpx.AsyncClient) -> None:
        rng = random.Random(number)
        while time.perf_counter() < deadline:
            kind = rng.choices(names, weights)[0]
            url = kinds[kind][1](rng)
            started = time.perf_counter()
            try:
                response = await http.get(url)
                ok = _valid(kind, response)
                detail = f"{response.status_code} {response.text[:200]}"
            except (httpx.HTTPError, ValueError) as exc:
                ok, detail = False, repr(exc)
            result.latencies_ms[kind].append((time.perf_counter() - started) * 1000)
            if not ok:
                result.errors.append(f"{url} -> {detail}")

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    began = time.perf_counter()
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        await asyncio.gather(*(client(n, http) for n in range(clients)))
    result.seconds = time.perf_counter() - began
    return result


def run_load(base: str, target: Target, clients: int = 32, seconds: float = 30.0) -> LoadResult:
    """`clients` concurrent clients, each sending its next request as soon as the last one answered."""
    return asyncio.run(_drive(base, mix(target), clients, seconds))


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (Linux /proc)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def table(result: LoadResult) -> str:
    """A Markdown table: per request kind and in total, requests, requests/s, p50 and p99 ms, errors."""
    lines = ["| kind | requests | req/s | p50 ms | p99 ms |", "|---|---|---|---|---|"]
    for kind, values in result.latencies_ms.items():
        lines.append(
            f"| {kind} | {len(values):,} | {len(values) / result.seconds:.1f} "
            f"| {result.percentile(0.5, kind):.1f} | {result.percentile(0.99, kind):.1f} |"
        )
    lines.append(
        f"| **all** ({result.clients} clients, {result.seconds:.0f} s, {len(result.errors)} errors) "
        f"| {result.requests:,} | {result.rate():.1f} | {result.percentile(0.5):.1f} | {result.percentile(0.99):.1f} |"
    )
    return "\n".join(lines)
