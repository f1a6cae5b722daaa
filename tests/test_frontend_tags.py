"""Tagging from the explore page in real headless Chromium against the real studio server: create a tag, add a
clicked point and a lasso selection, rename, undo and delete, with the .indices file and the history asserted on
disk after each; and several tags picked at once, all of them or any of them."""

from __future__ import annotations

import json
import shutil
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.browser import draw_lasso, ensure_frontend_built, viewer_server, watched_page


@pytest.fixture(scope="module")
def tag_data(built_data: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("frontend-tags") / "data"
    shutil.copytree(built_data["root"], root)
    (root / "sample" / "tags").mkdir(exist_ok=True)
    (root / "sample" / "tags" / "odd.indices").write_text("".join(f"{i}\n" for i in range(1, 60, 2)))
    (root / "sample" / "tags" / "low.indices").write_text("".join(f"{i}\n" for i in range(10)))
    scope = built_data["ids"]["scope"]
    return {"root": root, "scope": scope, "points": pd.read_parquet(root / "sample" / "scopes" / f"{scope}.parquet")}


@pytest.fixture(scope="module")
def server(tag_data: dict[str, object]) -> Iterator[str]:
    ensure_frontend_built()
    with viewer_server(tag_data["root"]) as url:
        yield url


@pytest.fixture
def page(server: str) -> Iterator[object]:
    with watched_page() as pg:
        yield pg


def on_disk(root: Path, tag: str) -> list[int] | None:
    path = root / "sample" / "tags" / f"{tag}.indices"
    return [int(line) for line in path.read_text().splitlines()] if path.exists() else None


def history(root: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (root / "sample" / "tags" / "_history.jsonl").read_text().splitlines()]


def open_explore(page, server: str, scope: str, query: str = "") -> None:
    page.goto(f"{server}/datasets/sample/explore/{scope}{'?' + query if query else ''}")
    page.wait_for_selector("[data-testid=map][data-drawn=true]", timeout=30_000)
    page.wait_for_selector("[data-testid=rows] tbody tr", timeout=30_000)


def edit(page, testid: str, says: str) -> None:
    page.locator(f"[data-testid={testid}]").click()
    page.wait_for_function(
        "s => document.querySelector('[data-testid=tag-status]').textContent.startsWith(s)", arg=says
    )


def click_far_point(page, points: pd.DataFrame) -> int:
    far = points.iloc[int(((points["x"] ** 2) + (points["y"] ** 2)).to_numpy().argmax())]
    box = page.locator("[data-testid=map]").bounding_box()
    sx, sy = page.evaluate("([x, y]) => window.__lsProject(x, y)", [float(far["x"]), float(far["y"])])
    page.mouse.move(box["x"] + sx, box["y"] + sy)  # picking needs the point under the pointer first
    page.locator(".hovercard").wait_for(state="visible")
    page.mouse.click(box["x"] + sx, box["y"] + sy)
    page.wait_for_selector("[data-testid=chip][data-kind=points]")
    return int(urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)["sel"][0])


def lasso_polygon(page) -> list[tuple[float, float]]:
    """The lasso drawn on the map, in data coordinates, as the URL keeps it."""
    draw_lasso(page, 120)
    lasso = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)["lasso"][0]
    return [(float(x), float(y)) for x, y in (pt.split(",") for pt in lasso.split(";"))]


def test_tag_a_click_and_a_lasso_then_rename_undo_delete(page, server, tag_data) -> None:
    root, points = tag_data["root"], tag_data["points"]
    open_explore(page, server, tag_data["scope"])
    page.locator("[data-testid=tag-name]").fill("picked")
    edit(page, "tag-create", "Created picked")
    assert on_disk(root, "picked") == []
    page.locator("[data-testid=tag-target]").select_option("picked")
    clicked = click_far_point(page, points)
    edit(page, "tag-add", "Added 1 row to picked")
    assert on_disk(root, "picked") == [clicked]
    page.locator("[data-testid=chip][data-kind=points] button.x").click()
    polygon = lasso_polygon(page)
    matching = int(page.locator("[data-testid=map]").get_attribute("data-matching"))
    assert 0 < matching < len(points)
    edit(page, "tag-add", "Added")
    added = history(root)[-1]["added"]
    assert on_disk(root, "picked") == sorted({clicked, *added}) and len(added) == matching
    xs, ys = [x for x, _ in polygon], [y for _, y in polygon]
    inside = points.set_index("ls_index").loc[added]
    assert inside["x"].between(min(xs) - 1e-3, max(xs) + 1e-3).all()
    assert inside["y"].between(min(ys) - 1e-3, max(ys) + 1e-3).all()
    tagged = on_disk(root, "picked")
    page.locator("[data-testid=tag-name]").fill("kept")
    edit(page, "tag-rename", "Renamed picked to kept")
    assert on_disk(root, "picked") is None and on_disk(root, "kept") == tagged
    edit(page, "tag-undo", "Undid the rename of picked")
    assert on_disk(root, "picked") == tagged and on_disk(root, "kept") is None
    page.locator("[data-testid=tag-target]").select_option("picked")
    edit(page, "tag-delete", "Deleted picked")
    assert on_disk(root, "picked") is None
    ops = [e["op"] for e in history(root)]
    assert ops == ["create", "change", "change", "rename", "undo", "delete"]
    assert history(root)[-1]["before"] == {"picked": tagged}  # the deleted rows are still on disk
    # The tag list re-renders after the status line: wait for the button to go (fails after the timeout if it stays).
    page.locator("button.tag[data-tag=picked]").wait_for(state="detached", timeout=10_000)


def test_several_tags_all_or_any(page, server, tag_data) -> None:
    open_explore(page, server, tag_data["scope"])
    page.locator("button.tag[data-tag=odd]").click()
    page.wait_for_function("() => location.search.includes('tag=odd')")
    page.locator("button.tag[data-tag=low]").click()
    page.wait_for_function("() => document.querySelector('[data-testid=map]').dataset.matching === '5'")  # 1,3,5,7,9
    page.locator("[data-testid=tags-mode]").select_option("any")
    page.wait_for_function("() => location.search.includes('tags_mode=any')")
    want = str(len(set(range(1, 60, 2)) | set(range(10))))
    page.wait_for_function("n => document.querySelector('[data-testid=map]').dataset.matching === n", arg=want)


def test_an_emoji_tag_is_created_filtered_and_tagged_from_the_page(page, server, tag_data) -> None:
    """Latent Scope's tags are emoji: a ZWJ sequence typed into the editor becomes tags/👩‍💻.indices, its button
    filters the map (the name escaped in the URL), and a clicked point goes into it."""
    root, points, name = tag_data["root"], tag_data["points"], "👩‍💻"
    open_explore(page, server, tag_data["scope"])
    page.locator("[data-testid=tag-name]").fill(name)
    edit(page, "tag-create", f"Created {name}")
    assert on_disk(root, name) == []
    page.locator("[data-testid=tag-target]").select_option(name)
    clicked = click_far_point(page, points)
    edit(page, "tag-add", f"Added 1 row to {name}")
    assert on_disk(root, name) == [clicked]
    page.locator("[data-testid=chip][data-kind=points] button.x").click()
    page.locator(f'button.tag[data-tag="{name}"]').click()
    page.wait_for_function("q => location.search.includes(q)", arg="tag=" + urllib.parse.quote(name))
    page.wait_for_function("() => document.querySelector('[data-testid=map]').dataset.matching === '1'")
    assert history(root)[-1] == {**history(root)[-1], "op": "change", "tag": name, "added": [clicked]}
