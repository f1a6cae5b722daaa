"""Curating from the explore page in real headless Chromium against the real studio server: rename a cluster, move
a lasso selection to another cluster, merge two clusters, remove junk rows and undo, each a new scope version whose
files are asserted on disk; then the compare view of the first and the merged version, with linked hover and
selection and the cluster-overlap table."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.browser import draw_lasso, ensure_frontend_built, viewer_server, watched_page


@pytest.fixture(scope="module")
def data(built_data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("frontend-curation") / "data"
    shutil.copytree(built_data["root"], root)
    return root


@pytest.fixture(scope="module")
def server(data: Path) -> Iterator[str]:
    ensure_frontend_built()
    with viewer_server(data) as url:
        yield url


@pytest.fixture(scope="module")
def page(server: str) -> Iterator[Any]:
    with watched_page() as pg:
        yield pg


def version(root: Path, scope_id: str) -> tuple[dict[str, Any], pd.DataFrame]:
    folder = root / "sample" / "scopes"
    return json.loads((folder / f"{scope_id}.json").read_text()), pd.read_parquet(folder / f"{scope_id}.parquet")


def open_explore(page: Any, server: str, scope: str) -> None:
    page.goto(f"{server}/datasets/sample/explore/{scope}")
    wait_drawn(page)


def wait_drawn(page: Any) -> None:
    page.wait_for_selector("[data-testid=map][data-drawn=true]", timeout=30_000)
    page.wait_for_selector("[data-testid=rows] tbody tr", timeout=30_000)


def run_edit(page: Any, testid: str, made: str) -> None:
    """Click an edit button and wait until the page has opened the version the edit made."""
    page.locator(f"[data-testid={testid}]").click()
    page.wait_for_url(f"**/explore/{made}**", timeout=30_000)
    wait_drawn(page)


def test_rename_move_merge_remove_and_undo_from_the_page(page: Any, server: str, data: Path) -> None:
    first_sidecar, first = version(data, "scopes-001")
    sizes = first["cluster"].value_counts()
    a, b = (int(c) for c in sizes.index[:2])  # the two largest clusters
    open_explore(page, server, "scopes-001")

    page.locator("[data-testid=edit-cluster]").select_option(str(a))
    page.locator("[data-testid=edit-label]").fill("Big topic")
    page.locator("[data-testid=edit-description]").fill("renamed in the browser")
    run_edit(page, "edit-rename", "scopes-002")
    sidecar, rows = version(data, "scopes-002")
    assert sidecar["edited_from"] == "scopes-001" and sidecar["edit"]["label"] == "Big topic"
    assert set(rows.loc[rows["cluster"] == a, "label"]) == {"Big topic"}
    labels = pd.read_parquet(data / "sample" / "clusters" / f"{sidecar['cluster_labels_id']}.parquet")
    assert labels.set_index("cluster").loc[a, "description"] == "renamed in the browser"
    assert page.locator(f"[data-testid=cluster-item][data-cluster='{a}']").inner_text().count("Big topic") == 1

    draw_lasso(page, 90)
    lassoed = int(page.locator("[data-testid=map]").get_attribute("data-matching"))
    page.locator("[data-testid=edit-to]").select_option(str(b))
    run_edit(page, "edit-move", "scopes-003")
    sidecar, rows = version(data, "scopes-003")
    moved = sidecar["edit"]["rows"]
    assert len(moved) == lassoed > 0 and set(rows.loc[moved, "cluster"]) == {b}

    page.locator("[data-testid=edit-cluster]").select_option(str(a))
    page.locator("[data-testid=edit-to]").select_option(str(b))
    run_edit(page, "edit-merge", "scopes-004")
    before = rows["cluster"].value_counts()
    _, rows = version(data, "scopes-004")
    # before.get: on a map that holds clusters together the lasso may have taken every row of a already
    assert a not in set(rows["cluster"]) and (rows["cluster"] == b).sum() == before.get(a, 0) + before[b]

    draw_lasso(page, 60)
    junk = int(page.locator("[data-testid=map]").get_attribute("data-matching"))
    run_edit(page, "edit-remove", "scopes-005")
    sidecar, rows = version(data, "scopes-005")
    assert int(rows["deleted"].sum()) == junk == sidecar["removed"] > 0 and len(rows) == len(first)
    shown = int(page.locator("[data-testid=map]").get_attribute("data-points"))
    assert shown == len(first) - junk  # removed rows leave the map

    run_edit(page, "edit-undo", "scopes-006")
    sidecar, rows = version(data, "scopes-006")
    assert sidecar["edit"]["op"] == "undo" and sidecar["edit"]["restores"] == "scopes-004"
    assert not rows["deleted"].any() and int(page.locator("[data-testid=map]").get_attribute("data-points")) == len(
        first
    )
    for n in range(1, 7):  # every version is still on disk
        assert (data / "sample" / "scopes" / f"scopes-00{n}.parquet").is_file()
    assert first_sidecar == version(data, "scopes-001")[0]


def test_compare_links_hover_and_selection_and_tables_the_overlap(page: Any, server: str, data: Path) -> None:
    _, first = version(data, "scopes-001")
    merged = json.loads((data / "sample" / "scopes" / "scopes-004.json").read_text())
    gone, into = merged["edit"]["cluster"], merged["edit"]["to"]
    page.goto(f"{server}/datasets/sample/compare/scopes-001/scopes-004")
    page.wait_for_selector("[data-testid=compare-map-a][data-drawn=true]", timeout=30_000)
    page.wait_for_selector("[data-testid=compare-map-b][data-drawn=true]", timeout=30_000)
    row = page.locator(f"[data-testid=overlap-row][data-a='{gone}'][data-b='{into}']")
    cells = row.locator("td").all_inner_texts()
    assert int(cells[4]) == int((first["cluster"] == gone).sum())  # all of A's cluster went into B's
    assert page.locator("[data-testid=overlap-row]").count() >= len(merged["cluster_labels_lookup"])

    # Hover a point of A: the same row is ringed on B.
    point = first.iloc[0]
    box = page.locator("[data-testid=compare-map-a]").bounding_box()
    sx, sy = page.evaluate("([x, y]) => window.__lsCompareProject(0, x, y)", [float(point["x"]), float(point["y"])])
    page.mouse.move(box["x"] + sx - 3, box["y"] + sy)
    page.mouse.move(box["x"] + sx, box["y"] + sy, steps=3)  # picking needs the point under the pointer
    page.wait_for_function("() => document.querySelector('[data-testid=compare-map-b]').dataset.hovered")
    hovered = page.locator("[data-testid=compare-map-a]").get_attribute("data-hovered")
    assert hovered and page.locator("[data-testid=compare-map-b]").get_attribute("data-hovered") == hovered

    # Select a pair in the table: both maps keep exactly those rows.
    row.click()
    want = cells[4]
    for side in ("a", "b"):
        page.wait_for_function(
            "([s, n]) => document.querySelector(`[data-testid=compare-map-${s}]`).dataset.matching === n",
            arg=[side, want],
        )
