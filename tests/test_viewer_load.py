"""Loopback load: 32 concurrent clients for 15 s mixing search, rows (paging, filters, semantic) and points against
a real uvicorn server in its own process; no errors, and its resident memory after the load within 10% of before
(measured after one warm-up pass), so no request leaks. The figures are printed; bench/viewer_load.py runs the same
load (tests/load_client.py) standalone for the README.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.load_client import describe, rss_bytes, run_load, table
from tests.viewer_support import copy_built, serve_process

CLIENTS, SECONDS, WARM_UP_SECONDS = 32, 15.0, 4.0
MAX_GROWTH = 1.10


@pytest.fixture(scope="module")
def root(built_data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_built(Path(str(built_data["root"])), tmp_path_factory.mktemp("load") / "data")


def test_32_clients_for_15_seconds(root: Path, tmp_path: Path) -> None:
    log = tmp_path / "viewer.log"
    with serve_process(root, log) as (base, proc), httpx.Client(base_url=base, timeout=120) as http:
        target = describe(http, "sample", "scopes-001")
        assert http.get(target.base + "/search?q=warm").status_code == 200  # the model is loaded
        warm = run_load(base, target, CLIENTS, WARM_UP_SECONDS)
        before = rss_bytes(proc.pid)
        result = run_load(base, target, CLIENTS, SECONDS)
        after = rss_bytes(proc.pid)
    print(f"\n{table(result)}\nserver RSS {before / 2**20:.0f} MiB before, {after / 2**20:.0f} MiB after")
    assert warm.errors == [] and result.errors == [], result.errors[:5]
    assert all(len(latencies) >= 20 for latencies in result.latencies_ms.values()), result.latencies_ms.keys()
    assert after <= before * MAX_GROWTH, f"server RSS grew from {before / 2**20:.0f} to {after / 2**20:.0f} MiB"
    assert "Traceback" not in log.read_text()
