"""UMAP's numba code compiles once per machine: a second process loads it from the cache folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# One jitted function of umap-learn's own (not marked cache=True there), called on a tiny input.
CHILD = """
import json
import numpy as np
from ls_pipeline.jit_cache import cached_import
umap_ = cached_import("umap.umap_")
umap_.smooth_knn_dist(np.random.default_rng(0).random((20, 5)).astype(np.float32), 5.0)
stats = umap_.smooth_knn_dist.stats
print(json.dumps({"hits": sum(stats.cache_hits.values()), "misses": sum(stats.cache_misses.values())}))
"""


def _run(cache: Path) -> dict[str, int]:
    env = {**os.environ, "LS_CACHE": str(cache.parent), "PYTHONPATH": str(ROOT)}
    env.pop("LS_NUMBA_CACHE", None)
    env.pop("NUMBA_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_second_process_loads_compiled_umap_code(tmp_path: Path) -> None:
    cache = tmp_path / "numba"
    assert _run(cache) == {"hits": 0, "misses": 1}
    assert list(cache.rglob("*.nbi")), "the compiled code was not written to the cache folder"
    assert _run(cache) == {"hits": 1, "misses": 0}
