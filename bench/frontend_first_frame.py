"""Time from navigation to the first drawn map frame, at 100k and 1M points, in headless Chromium; and whether that
first view reads (the share of points it frames, how much of it the bulk fills, its labels and their overlaps).

The big scopes are synthesized from a real one: its input rows and scope rows are tiled up to N rows and each tiled
copy's x, y get Gaussian jitter (sigma 0.01 in the [-1, 1] map space), so the map keeps the real clusters' shapes.
Cluster labels and hulls are the real scope's (counts scaled). Chromium runs headless with --disable-gpu, so WebGL is
SwiftShader *software* rendering: a laptop GPU draws faster, and these figures are an upper bound.

    # after scripts/demo.sh made demo-data/debian-demo:
    PYTHONPATH=$PWD python bench/frontend_first_frame.py --data demo-data --dataset debian-demo
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.machine import machine_line  # noqa: E402
from ls_pipeline.store.datadir import DataDir  # noqa: E402
from tests.browser import chromium, ensure_frontend_built, viewer_server  # noqa: E402

JITTER = 0.01


def tile_scope(source: DataDir, dataset: str, scope_id: str, target: DataDir, n: int, seed: int = 0) -> str:
    """Write dataset `tiled-<n>` into target: the source scope's rows repeated up to n rows, with jitter."""
    src = source.dataset(dataset)
    name = f"tiled-{n}"
    out = target.root / name
    if (out / "scopes" / f"{scope_id}.json").is_file():
        return name
    shutil.rmtree(out, ignore_errors=True)
    (out / "scopes").mkdir(parents=True)
    rows = pq.read_table(src.input_path)
    scope = pq.read_table(src.file("scope", scope_id, ".parquet"))
    take = pa.array(np.arange(n) % rows.num_rows)
    pq.write_table(rows.take(take), out / "input.parquet", row_group_size=100_000)
    rng = np.random.default_rng(seed)
    tiled = scope.take(take).to_pandas()
    copy = np.arange(n) >= rows.num_rows  # the first copy keeps its real position
    for axis in ("x", "y"):
        jitter = rng.normal(0, JITTER, n).astype(np.float32) * copy
        tiled[axis] = np.clip(tiled[axis].to_numpy() + jitter, -1, 1).astype(np.float32)
    tiled["ls_index"] = np.arange(n, dtype=np.int64)
    pq.write_table(pa.Table.from_pandas(tiled, preserve_index=False), out / "scopes" / f"{scope_id}.parquet")
    meta = json.loads(src.meta_path.read_text())
    scale = n / rows.num_rows
    meta.update(id=name, length=n)
    (out / "meta.json").write_text(json.dumps(meta))
    sidecar = {**src.sidecar("scope", scope_id).raw, "dataset": name, "rows": n}
    for entry in sidecar.get("cluster_labels_lookup", []):
        entry["count"] = round(entry["count"] * scale)
    (out / "scopes" / f"{scope_id}.json").write_text(json.dumps(sidecar))
    return name


# The page's performance marks (viewer/frontend/src), in order: each phase runs from the previous mark to its own.
PHASES = [
    ("ls-points-request", "page and code until the points are asked for"),
    ("ls-points-fetched", "points fetch (Arrow bytes; the scope JSON loads meanwhile)"),
    ("ls-points-decoded", "Arrow decode"),
    ("ls-points-ready", "waiting for the scope JSON, if it came later"),
    ("ls-layers-set", "positions, colours, label anchors; deck.gl layer and attributes"),
    ("ls-draw-start", "wait for the next animation frame"),
    ("ls-draw-submitted", "draw calls issued"),
    ("ls-first-frame", "software rasterization until the frame is drawn"),
]


def first_frame_ms(browser: object, url: str) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("[data-testid=map][data-drawn=true]", timeout=300_000)
    wall = (time.perf_counter() - start) * 1000
    frame = page.evaluate("window.__lsFirstFrame")  # ms since navigation start, once the GPU has drawn the frame
    # Hulls, rings and labels join in the next frame: wait for it before picking or timing a full redraw.
    page.wait_for_function("performance.getEntriesByName('ls-overlays-drawn').length > 0", timeout=300_000)
    marks = page.evaluate(
        "Object.fromEntries(performance.getEntriesByType('mark').filter(m => m.name.startsWith('ls-'))"
        ".map(m => [m.name, m.startTime]))"
    )
    points = int(page.locator("[data-testid=map]").get_attribute("data-points"))
    box = page.locator("[data-testid=map]").bounding_box()
    centre = [box["width"] / 2, box["height"] / 2]
    first_pick = page.evaluate("([x, y]) => window.__lsPick(x, y)", centre)
    second_pick = page.evaluate("([x, y]) => window.__lsPick(x, y)", centre)
    redraw = page.evaluate("window.__lsRedrawMs()")
    shown = page.evaluate(
        "(() => { const d = document.querySelector('[data-testid=map]').dataset;"
        " return {labels: JSON.parse(d.labels || '[]'), view: JSON.parse(d.view || 'null')} })()"
    )
    context.close()
    return {
        "first_frame_ms": frame,
        "redraw_ms": redraw,
        "first_pick_ms": first_pick["ms"],
        "pick_ms": second_pick["ms"],
        "picked_layer": first_pick["layer"],
        "wall_ms": wall,
        "points": points,
        "canvas": [box["width"], box["height"]],
        **shown,
        **marks,
    }


def first_view_reads(run: dict[str, object], scope: Path) -> dict[str, float]:
    """What the first view shows (map-labels.js): the share of points on the canvas, how much of the canvas the
    bulk (1st-99th percentile) spans, the labels shown and how many pairs of them overlap."""
    import pandas as pd

    w, h = run["canvas"]
    view = run["view"]
    xy = pd.read_parquet(scope, columns=["x", "y"]).to_numpy()
    scale, (tx, ty) = 2 ** view["zoom"], view["target"]
    sx, sy = (xy[:, 0] - tx) * scale + w / 2, h / 2 - (xy[:, 1] - ty) * scale
    on_canvas = float(((sx >= 0) & (sx <= w) & (sy >= 0) & (sy <= h)).mean())
    fill = max(np.ptp(np.percentile(sx, [1, 99])) / w, np.ptp(np.percentile(sy, [1, 99])) / h)
    boxes = [b[1:] for b in run["labels"]]
    overlaps = sum(
        1
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
    )
    return {"on_canvas": on_canvas, "bulk_fill": float(fill), "labels": len(boxes), "overlapping_pairs": overlaps}


def breakdown(runs: list[dict[str, float]]) -> list[tuple[str, float]]:
    """Median milliseconds of each phase between the page's marks, then the frames and picks after the first."""

    def median(key: str) -> float:
        return statistics.median(r[key] for r in runs if key in r)

    rows, before = [], 0.0
    for mark, what in PHASES:
        at = median(mark)
        rows.append((what, at - before))
        before = at
    rows.append(("labels, hulls and rings: their first frame", median("ls-overlays-drawn") - median("ls-first-frame")))
    rows.append(("first hover pick (builds the picking buffer)", median("first_pick_ms")))
    rows.append(("a later hover pick", median("pick_ms")))
    rows.append(("a full redraw", median("redraw_ms")))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "demo-data"), help="a data directory with a built scope")
    parser.add_argument("--dataset", default="debian-demo")
    parser.add_argument("--scope", default=None, help="scope id (default: the dataset's last scope)")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", default=str(ROOT / "bench" / "results" / "tiled"), help="where tiled data goes")
    args = parser.parse_args()
    print(machine_line(), flush=True)
    source = DataDir(args.data)
    if args.dataset not in source.dataset_names():
        print(f"error: no dataset {args.dataset!r} in {args.data}; run scripts/demo.sh or pass --data/--dataset")
        return 2
    ds = source.dataset(args.dataset)
    scope_id = args.scope or (ds.ids("scope") or [None])[-1]
    if scope_id is None:
        print(f"error: dataset {args.dataset!r} has no scope yet; run `ls-run` on it first")
        return 2
    ensure_frontend_built()
    target = DataDir(Path(args.work))
    target.root.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    names = {}
    for n in sizes:
        t = time.perf_counter()
        names[n] = tile_scope(source, args.dataset, scope_id, target, n)
        print(f"tiled {n:,} rows in {time.perf_counter() - t:.1f}s", flush=True)
    results = []
    with viewer_server(target.root) as base, chromium() as browser:
        for n in sizes:
            url = f"{base}/datasets/{names[n]}/explore/{scope_id}"
            first_frame_ms(browser, url)  # warm the viewer's points cache and the page's code
            load_before = os.getloadavg()[0]
            runs = [first_frame_ms(browser, url) for _ in range(args.repeat)]
            load_after = os.getloadavg()[0]
            median = statistics.median(r["first_frame_ms"] for r in runs)
            load = [load_before, load_after]
            results.append({"points": n, "median_first_frame_ms": median, "load": load, "runs": runs})
            each = ", ".join(f"{r['first_frame_ms']:,.0f}" for r in runs)
            print(
                f"{n:>9,} points: first frame {median:,.0f} ms after navigation (median of {args.repeat}; "
                f"runs {each}; load {load_before:.1f} -> {load_after:.1f})"
            )
            for what, ms in breakdown(runs):
                print(f"    {ms:>9,.0f} ms  {what}")
            reads = first_view_reads(runs[-1], target.dataset(names[n]).file("scope", scope_id, ".parquet"))
            results[-1]["first_view"] = reads
            print(
                f"    first view: {reads['on_canvas']:.1%} of the points on the canvas, the bulk spans "
                f"{reads['bulk_fill']:.0%} of it; {reads['labels']} labels, {reads['overlapping_pairs']} overlapping"
            )
    out = ROOT / "bench" / "results" / "frontend_first_frame.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    print(f"software WebGL (SwiftShader), {os.cpu_count()} CPUs, load average {load:.1f}")
    doc = {"renderer": "SwiftShader (software WebGL)", "cpus": os.cpu_count(), "load_average": load, "results": results}
    out.write_text(json.dumps(doc, indent=2))
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
