"""The LRU of scope tables in DuckDB (max_cached_scopes) under more scopes than it holds, hammered concurrently.

Before leases, a request could find its table dropped by another request's eviction between the lookup and the
query (a 500; 84 of 300 queries failed this way in the unit hammer below with max_cached_scopes=1).
"""

from __future__ import annotations

import asyncio
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.viewer_support import copy_built, serve
from viewer.db import Database, ScopeSource

SCOPES = ["scopes-001", "scopes-002", "scopes-003"]
EXISTS = "SELECT count(*) FROM information_schema.tables WHERE table_name = $name"


@pytest.fixture(scope="module")
def root(built_data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """'sample' with three scopes (copies of the built one), more than max_cached_scopes=1 holds."""
    data = copy_built(Path(str(built_data["root"])), tmp_path_factory.mktemp("race") / "data")
    scopes = data / "sample" / "scopes"
    sidecar = json.loads((scopes / "scopes-001.json").read_text())
    for scope_id in SCOPES[1:]:
        (scopes / f"{scope_id}.json").write_text(json.dumps({**sidecar, "id": scope_id}))
        shutil.copy(scopes / "scopes-001.parquet", scopes / f"{scope_id}.parquet")
    return data


def sources(root: Path) -> list[ScopeSource]:
    ds = root / "sample"
    columns = tuple(json.loads((ds / "meta.json").read_text())["columns"])
    return [ScopeSource(ds / "scopes" / f"{s}.parquet", ds / "input.parquet", columns, "text") for s in SCOPES]


def test_a_table_in_use_is_never_evicted(root: Path) -> None:
    a, b, c = sources(root)
    store = Database(time_limit_ms=5000, max_cached_scopes=1)
    with store.lease(a) as table_a:
        with store.lease(b) as table_b, store.lease(c) as table_c:
            # Three tables in use, one allowed: none may go while a query could still need it.
            assert [store.scalar(EXISTS, {"name": t}) for t in (table_a, table_b, table_c)] == [1, 1, 1]
            assert store.scalar(f"SELECT count(*) FROM {table_a}", {}) == 300
        # b and c are idle again: trimmed back to the limit, while a (still in use) stays.
        assert [store.scalar(EXISTS, {"name": t}) for t in (table_a, table_b, table_c)] == [1, 0, 0]
    with store.lease(b) as table_b:
        assert store.scalar(EXISTS, {"name": table_a}) == 0 and store.scalar(EXISTS, {"name": table_b}) == 1


def test_concurrent_queries_over_more_scopes_than_cached(root: Path) -> None:
    srcs = sources(root)
    store = Database(time_limit_ms=5000, max_cached_scopes=1)

    def count(i: int) -> int:
        sql = "SELECT count(*) FROM {} WHERE cluster >= $low"
        return store.scope_query(srcs[i % 3], lambda name: (sql.format(name), {"low": -1})).column(0)[0].as_py()

    with ThreadPoolExecutor(8) as pool:
        counts = list(pool.map(count, range(300)))
    assert counts == [300] * 300
    tables = store.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'scope_%'", {})
    assert tables == 1  # back within max_cached_scopes once nothing is in use


async def hammer(base: str, seconds: float, clients: int = 16) -> tuple[int, list[str]]:
    done, errors = 0, []
    urls = [
        f"/api/datasets/sample/scopes/{s}/{kind}"
        for s in SCOPES
        for kind in ("rows?limit=5", "rows/indices?cluster=0", "export?format=jsonl")
    ]

    async def client(n: int, http: httpx.AsyncClient) -> None:
        nonlocal done
        deadline = asyncio.get_running_loop().time() + seconds
        i = n
        while asyncio.get_running_loop().time() < deadline:
            url = urls[i % len(urls)]
            try:
                response = await http.get(url)
                if response.status_code != 200:
                    errors.append(f"{url} -> {response.status_code} {response.text[:200]}")
            except httpx.HTTPError as exc:
                errors.append(f"{url} -> {exc!r}")
            done += 1
            i += 7  # clients walk the scopes out of step, so evictions interleave with queries

    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        await asyncio.gather(*(client(n, http) for n in range(clients)))
    return done, errors


def test_server_with_one_cached_scope_answers_every_request(root: Path, tmp_path: Path) -> None:
    with serve(root, tmp_path / "viewer.log", LATENT_SCOPE_MAX_CACHED_SCOPES="1") as base:
        done, errors = asyncio.run(hammer(base, seconds=6))
    print(f"\n{done} requests over {len(SCOPES)} scopes with max_cached_scopes=1: {len(errors)} errors")
    assert errors == []
    assert done >= 60
    assert "Traceback" not in (tmp_path / "viewer.log").read_text()
