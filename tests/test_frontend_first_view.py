"""The map's first view reads at any size, in real headless Chromium: it frames the bulk of the points (far outliers
do not set its scale), its labels never overlap, no more show than can be read, and the top topic level comes first.

The scopes are the session's real 300-row scope tiled up to 3,000 and 50,000 points (each copy jittered, the
clusters' shapes kept), squeezed into the middle fifth of the map with a few far outliers at its corners, as UMAP
leaves them on real data."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.browser import ARTIFACTS, chromium, ensure_frontend_built, viewer_server

SIZES = (3_000, 50_000)
OUTLIERS = 12
WIDTH, HEIGHT = 1400, 900


def tiled(source: Path, scope_id: str, target: Path, n: int) -> str:
    """Dataset `tiled-<n>` in `target`: the scope's rows repeated to n, the bulk at a fifth of the map, outliers."""
    name = f"tiled-{n}"
    src, out = source / "sample", target / name
    (out / "scopes").mkdir(parents=True)
    rows = pd.read_parquet(src / "input.parquet")
    scope = pd.read_parquet(src / "scopes" / f"{scope_id}.parquet")
    take = np.arange(n) % len(rows)
    rows.iloc[take].reset_index(drop=True).to_parquet(out / "input.parquet", index=False)
    points = scope.iloc[take].reset_index(drop=True)
    rng = np.random.default_rng(n)
    for axis in ("x", "y"):
        points[axis] = (0.2 * points[axis] + rng.normal(0, 0.002, n) * (np.arange(n) >= len(rows))).astype(np.float32)
    corners = rng.choice([-1.0, 1.0], size=(OUTLIERS, 2)) * rng.uniform(0.9, 1.0, (OUTLIERS, 2))
    points.loc[: OUTLIERS - 1, ["x", "y"]] = corners.astype(np.float32)
    points["ls_index"] = np.arange(n, dtype=np.int64)
    points.to_parquet(out / "scopes" / f"{scope_id}.parquet", index=False)
    meta = json.loads((src / "meta.json").read_text()) | {"id": name, "length": n}
    (out / "meta.json").write_text(json.dumps(meta))
    sidecar = json.loads((src / "scopes" / f"{scope_id}.json").read_text()) | {"dataset": name, "rows": n}
    for entry in sidecar["cluster_labels_lookup"] + sidecar.get("cluster_levels_lookup", []):
        entry["count"] = round(entry["count"] * n / len(rows))
    (out / "scopes" / f"{scope_id}.json").write_text(json.dumps(sidecar))
    return name


@pytest.fixture(scope="module")
def served(built_data: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    root = tmp_path_factory.mktemp("first-view") / "data"
    root.mkdir()
    scope_id = str(built_data["ids"]["scope"])  # type: ignore[index]
    names = {n: tiled(Path(str(built_data["root"])), scope_id, root, n) for n in SIZES}
    shutil.copytree(Path(str(built_data["root"])) / "sample", root / "sample")
    ensure_frontend_built()
    with viewer_server(root) as url, chromium() as browser:
        yield {"url": url, "browser": browser, "scope": scope_id, "names": names, "root": root}


def first_view(served: dict[str, object], n: int) -> dict[str, object]:
    """Opens the scope of n points and reads the first view: labels (text, box) and where every point lands."""
    context = served["browser"].new_context(viewport={"width": WIDTH, "height": HEIGHT}, color_scheme="light")
    page = context.new_page()
    try:
        page.goto(f"{served['url']}/datasets/{served['names'][n]}/explore/{served['scope']}")
        page.wait_for_selector("[data-testid=map][data-drawn=true]", timeout=60_000)
        page.wait_for_function("performance.getEntriesByName('ls-overlays-drawn').length > 0", timeout=60_000)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"first-view-{n}.png").write_bytes(page.locator("[data-testid=map]").screenshot())
        box = page.locator("[data-testid=map]").bounding_box()
        view = page.evaluate("""() => {
            const wrap = document.querySelector('[data-testid=map]')
            const {labels, labelLevel, view} = wrap.dataset
            return {labels: JSON.parse(labels || '[]'), level: Number(labelLevel), view: JSON.parse(view)}
        }""")
        return {**view, "width": box["width"], "height": box["height"]}
    finally:
        context.close()


@pytest.mark.parametrize("n", SIZES)
def test_the_first_view_frames_the_bulk_and_its_labels_read(served: dict[str, object], n: int) -> None:
    view = first_view(served, n)
    w, h = view["width"], view["height"]
    # Where the points land on the canvas (the map's orthographic view: y up).
    points = pd.read_parquet(served["root"] / served["names"][n] / "scopes" / f"{served['scope']}.parquet")
    scale, (tx, ty) = 2 ** view["view"]["zoom"], view["view"]["target"]
    sx = (points["x"].to_numpy() - tx) * scale + w / 2
    sy = h / 2 - (points["y"].to_numpy() - ty) * scale
    on_canvas = (sx >= 0) & (sx <= w) & (sy >= 0) & (sy <= h)
    assert on_canvas.mean() >= 0.97 and (~on_canvas).sum() <= 3 * OUTLIERS  # only outliers may fall outside
    bulk = np.percentile(sx, [1, 99]), np.percentile(sy, [1, 99])
    assert max(np.ptp(bulk[0]) / w, np.ptp(bulk[1]) / h) >= 0.6  # it fills the view (was ~0.2: outliers set it)

    labels = view["labels"]
    lookup = json.loads((served["root"] / served["names"][n] / "scopes" / f"{served['scope']}.json").read_text())
    levels = lookup.get("cluster_levels_lookup", [])
    top = max((t["level"] for t in levels), default=0)
    shown_level = [t for t in levels if t["level"] == top] if top else lookup["cluster_labels_lookup"]
    assert min(2, len(shown_level)) <= len(labels) <= min(40, w * h // 30_000), labels
    for i, (_, *a) in enumerate(labels):  # no two label boxes overlap, and each lies on the map
        assert 0 <= a[0] and a[2] <= w and 0 <= a[1] and a[3] <= h
        for _, *b in labels[i + 1 :]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    # With levels, the first view names the top level's topics.
    assert view["level"] == top and {label for label, *_ in labels} <= {t["label"] for t in shown_level}
