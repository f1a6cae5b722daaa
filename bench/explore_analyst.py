"""The explore page's analyst tools at 100k and 1M rows: facets of 5 columns under a filter, a click's neighbours, and
playback's frame time in headless Chromium with software WebGL.

    PYTHONPATH=$PWD HF_HUB_OFFLINE=1 python bench/explore_analyst.py [/tmp/ls-bench-explore] [--sizes 100000 1000000]

The data: the demo's 3,000 Debian rows through the small test recipe (real embedding, UMAP, clusters, labels), then
tiled to each size: input rows repeated with three columns of every chart type added (a word count with nulls,
a release date over ten years, a boolean), map positions jittered per copy (sigma 0.01), and the real vectors
repeated with Gaussian noise per dimension (sigma 0.02, then normalized, as bench/million.py does), so a row's
neighbours are its copies' neighbours rather than exact duplicates. The viewer runs as `python -m viewer` in a
subprocess and is asked over loopback HTTP, one request at a time (a reader clicking), after warm-up requests (the
first builds the scope's table, the search index's codes at 1M rows, the histogram extents).

Targets: facets p50 <= 30 ms at 100k rows and <= 150 ms at 1M; neighbours p50 <= 50 ms at 1M;
playback's frame < 50 ms at 100k points. Figures depend on the machine and its load: the script prints both.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

import h5py
import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import load, machine_line  # noqa: E402
from tests.viewer_support import serve  # noqa: E402

DEMO = ROOT / "ls_pipeline" / "demo" / "debian-packages-3k.parquet"
BASE = "deb3k"
FACETS = ["section", "priority", "words", "released", "cluster"]
NOISE = 0.02
CHUNK = 100_000




def build_base(root: Path) -> str:
    from ls_pipeline import steps
    from ls_pipeline.recipe import parse_recipe
    from ls_pipeline.stages.ingest import IngestParams
    from ls_pipeline.store import DataDir
    from tests.conftest import SMALL_RECIPE

    marker = root / BASE / "scope-id.txt"
    if marker.is_file():
        return marker.read_text().strip()
    data = DataDir(root)
    steps.ingest(data, BASE, pd.read_parquet(DEMO), IngestParams(text_column="text"))
    scope = steps.run_recipe(data.dataset(BASE), parse_recipe("small", SMALL_RECIPE))["scope"].id
    marker.write_text(scope)
    return scope


def tile(root: Path, scope_id: str, rows: int) -> str:
    """Dataset tiled-<rows>: see the module's docstring."""
    from ls_pipeline.stages.ingest import profile_columns

    name = f"tiled-{rows}"
    out = root / name
    if (out / "scopes" / f"{scope_id}.json").is_file():
        return name
    src = root / BASE
    staging = root / f".{name}-staging"
    shutil.rmtree(staging, ignore_errors=True)
    for folder in ("scopes", "embeddings"):
        (staging / folder).mkdir(parents=True)
    rng = np.random.default_rng(0)
    frame = pd.read_parquet(src / "input.parquet")
    take = np.arange(rows) % len(frame)
    big = frame.iloc[take].reset_index(drop=True)
    words = big["text"].str.split().str.len().to_numpy()
    big["words"] = pd.array(np.where(rng.random(rows) < 0.05, -1, words), "Int64")
    big.loc[big["words"] < 0, "words"] = None
    seconds = rng.integers(0, 10 * 365 * 86_400, rows)
    big["released"] = pd.Timestamp("2015-01-01", tz="UTC") + pd.to_timedelta(seconds, unit="s")
    big["free"] = rng.random(rows) < 0.7
    big.to_parquet(staging / "input.parquet", index=False, row_group_size=CHUNK)
    meta = json.loads((src / "meta.json").read_text())
    meta.update(id=name, length=rows, columns=list(big.columns), column_metadata=profile_columns(big))
    (staging / "meta.json").write_text(json.dumps(meta, default=str))
    sidecar = json.loads((src / "scopes" / f"{scope_id}.json").read_text())
    scope = pd.read_parquet(src / "scopes" / f"{scope_id}.parquet").iloc[take].reset_index(drop=True)
    scope["ls_index"] = np.arange(rows)
    copy = np.arange(rows) >= len(frame)
    for axis in ("x", "y"):
        scope[axis] = np.clip(scope[axis] + rng.normal(0, 0.01, rows) * copy, -1, 1).astype(np.float32)
    scope.to_parquet(staging / "scopes" / f"{scope_id}.parquet", index=False)
    lookup = [{**c, "count": c["count"] * rows // len(frame)} for c in sidecar["cluster_labels_lookup"]]
    sidecar.update(dataset=name, rows=rows, cluster_labels_lookup=lookup)
    (staging / "scopes" / f"{scope_id}.json").write_text(json.dumps(sidecar))
    embedding = sidecar["embedding_id"]
    with h5py.File(src / "embeddings" / f"{embedding}.h5", "r") as handle:
        real = np.asarray(handle["embeddings"][...], dtype=np.float32)
    with h5py.File(staging / "embeddings" / f"{embedding}.h5", "w") as handle:
        matrix = handle.create_dataset("embeddings", shape=(rows, real.shape[1]), dtype=np.float32)
        for start in range(0, rows, CHUNK):  # bounded memory
            part = real[take[start : start + CHUNK]]
            part = part + rng.normal(0, NOISE, part.shape).astype(np.float32)
            matrix[start : start + CHUNK] = part / np.linalg.norm(part, axis=1, keepdims=True)
    staging.rename(out)
    return name


def timed(
    client: httpx.Client, url: str, params: list[tuple[str, str]], repeat: int
) -> tuple[float, float, list[float]]:
    """First request's ms (after one warm-up of another filter), then p50 and p90 of `repeat` more."""
    t = time.perf_counter()
    client.get(url, params=params).raise_for_status()
    first = (time.perf_counter() - t) * 1000
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        client.get(url, params=params).raise_for_status()
        times.append((time.perf_counter() - t) * 1000)
    return first, statistics.median(times), sorted(times)[int(0.9 * (len(times) - 1))]


def bench_server(base: str, name: str, scope: str, rows: int, repeat: int, neighbours: bool = True) -> None:
    url = f"{base}/api/datasets/{name}/scopes/{scope}"
    columns = [("column", c) for c in FACETS]
    with httpx.Client(timeout=600) as client:
        clusters = sorted(client.get(url + "/clusters").json(), key=lambda c: -c["count"])
        biggest = str(clusters[0]["cluster"])
        client.get(url + "/facets", params=columns).raise_for_status()  # builds the table and the extents
        scenarios = {
            "a cluster": [("cluster", biggest)],
            "a category and a date range": [
                (
                    "where",
                    json.dumps(
                        [
                            {"column": "section", "op": "in", "value": ["libs", "python", "devel"]},
                            {"column": "released", "op": ">=", "value": "2018-01-01T00:00:00Z"},
                        ]
                    ),
                )
            ],
            "a cluster, with the scope's counts": [("cluster", biggest), ("baseline", "scope")],
            "a cluster, ranked by lift": [("cluster", biggest), ("rank", "lift")],
            "a regex keyword": [("text", r"\bgames?\b"), ("text_mode", "regex")],
        }
        for label, filters in scenarios.items():
            first, p50, p90 = timed(client, url + "/facets", columns + filters, repeat)
            print(f"| {rows:,} | facets of 5 columns under {label} | {first:.0f} | {p50:.1f} | {p90:.1f} | {load()} |")
        if not neighbours:
            return
        t = time.perf_counter()
        client.get(url + "/neighbors", params={"ls_index": "0", "k": "20"}).raise_for_status()
        build = (time.perf_counter() - t) * 1000
        rng = np.random.default_rng(1)
        times = []
        for row in rng.integers(0, rows, repeat):
            t = time.perf_counter()
            client.get(url + "/neighbors", params={"ls_index": str(row), "k": "20"}).raise_for_status()
            times.append((time.perf_counter() - t) * 1000)
        p50, p90 = statistics.median(times), sorted(times)[int(0.9 * (len(times) - 1))]
        print(f"| {rows:,} | a click's 20 neighbours | {build:.0f} | {p50:.1f} | {p90:.1f} | {load()} |")


def bench_playback(base: str, name: str, scope: str, rows: int, frames: int) -> None:
    from tests.browser import chromium, ensure_frontend_built

    ensure_frontend_built()
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        page.goto(f"{base}/datasets/{name}/explore/{scope}")
        page.wait_for_selector("[data-testid=map][data-drawn=true]", timeout=600_000)
        page.wait_for_selector("[data-testid=timeline] svg", timeout=600_000)
        page.wait_for_timeout(3000)
        for naive in (True, False, True, False):  # interleaved: the load changes over minutes
            ms = [
                page.evaluate("([f, n]) => window.__lsPlaybackFrame(f, n)", [i / frames, naive]) for i in range(frames)
            ]
            how = "every point recoloured and drawn" if naive else "the window's points over the density"
            print(
                f"| {rows:,} | playback frame: {how} | {ms[0]:.0f} | {statistics.median(ms[1:]):.1f} | "
                f"{sorted(ms[1:])[int(0.9 * (len(ms) - 2))]:.1f} | {load()} |"
            )


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", nargs="?", default="/tmp/ls-bench-explore")
    parser.add_argument("--sizes", nargs="+", type=int, default=[100_000, 1_000_000])


def prepare(args: argparse.Namespace) -> tuple[Path, str, dict[int, str]]:
    """The data directory, the base scope and, per size, its tiled dataset (each made on first use)."""
    root = Path(args.data)
    root.mkdir(parents=True, exist_ok=True)
    scope = build_base(root)
    return root, scope, {rows: tile(root, scope, rows) for rows in args.sizes}


def main() -> None:
    parser = argparse.ArgumentParser()
    add_data_arguments(parser)
    parser.add_argument("--repeat", type=int, default=30, help="timed requests per scenario")
    parser.add_argument("--frames", type=int, default=21, help="playback frames per run (the first is reported apart)")
    parser.add_argument("--playback-rows", type=int, default=100_000, help="the size whose playback is timed (0: none)")
    args = parser.parse_args()
    root, scope, names = prepare(args)
    print(machine_line() + "\n")
    print("| rows | what | first ms | p50 ms | p90 ms | load (1, 5, 15 min) |")
    print("|---|---|---|---|---|---|")
    with serve(root, root / "viewer.log") as base:
        for rows, name in names.items():
            bench_server(base, name, scope, rows, args.repeat, neighbours=True)
            if rows == args.playback_rows:
                bench_playback(base, name, scope, rows, args.frames)


if __name__ == "__main__":
    main()
