"""The explore page's analyst tools in real headless Chromium against the real viewer: keyword search, facets with
cross-filtering, a point's neighbours, labels by zoom, the timeline with playback, and the density layer."""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.browser import (
    ARTIFACTS,
    ensure_frontend_built,
    explore_url,
    non_background_pixels,
    open_explore,
    viewer_server,
)
from tests.typed_columns import add_typed_columns


@pytest.fixture(scope="module")
def explore_data(built_data: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A copy of the built sample with a number, a date, a boolean and a list column (tests/typed_columns.py)."""
    root = tmp_path_factory.mktemp("analyst") / "data"
    shutil.copytree(built_data["root"], root)
    scope_id = built_data["ids"]["scope"]
    frame = add_typed_columns(root)
    (root / "sample" / "tags").mkdir(exist_ok=True)
    (root / "sample" / "tags" / "liked.indices").write_text("0\n")
    scope = pd.read_parquet(root / "sample" / "scopes" / f"{scope_id}.parquet")
    return {"root": root, "scope": scope_id, "frame": frame, "points": scope}


@pytest.fixture(scope="module")
def server(explore_data: dict[str, object]) -> Iterator[str]:
    ensure_frontend_built()
    with viewer_server(explore_data["root"]) as url:
        yield url


def wait_for_total(page, total: int) -> None:
    page.wait_for_function(
        "n => document.querySelector('[data-testid=table-total]').textContent.endsWith(`of ${n} rows`)", arg=total
    )


def api(server: str, data: dict[str, object], route: str, params: list[tuple[str, str]]) -> dict:
    url = f"{server}/api/datasets/sample/scopes/{data['scope']}/{route}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url) as res:
        return json.load(res)


def save(png: bytes, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / name).write_bytes(png)


def test_keyword_search_by_regex_filters_and_marks_the_matches(page, server, explore_data):
    frame = explore_data["frame"]
    pattern = r"(?i)\bgames?\b"
    expected = sum(bool(re.search(pattern, t)) for t in frame["text"])
    assert 0 < expected < len(frame)
    open_explore(page, explore_url(server, explore_data))
    page.get_by_label("Keyword match").select_option("regex")
    page.get_by_label("Keyword search").fill(pattern)
    page.get_by_label("Keyword search").press("Enter")
    wait_for_total(page, expected)
    assert "text_mode=regex" in page.url
    marks = page.locator("[data-testid=rows] td.text mark").all_inner_texts()
    assert marks and all(m.lower() in ("game", "games") for m in marks)
    assert page.locator("[data-testid=chip][data-kind=keyword]").count() == 1
    # An invalid pattern: the server's message in the error line, the chip to take it back.
    page.get_by_label("Keyword search").fill("games(")
    page.get_by_label("Keyword search").press("Enter")
    error = page.locator("[data-testid=error]")
    error.wait_for(state="visible")
    assert "regular expression" in error.inner_text()
    page.locator("[data-testid=chip][data-kind=keyword] button.x").click()
    wait_for_total(page, len(frame))
    save(page.screenshot(), "explore-keyword.png")


def facet_rows(page, column: str) -> list[tuple[object, int]]:
    return page.locator(
        f"[data-testid=facets] [data-testid=facet][data-column={column}] button.facet-row"
    ).evaluate_all(
        "rows => rows.map(r => [JSON.parse(r.dataset.value), Number(r.querySelector('.count').textContent"
        ".replace(/,/g, ''))])"
    )


def where_of(url: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["where"][0]


def test_facets_cross_filter_the_map_the_table_and_each_other(page, server, explore_data):
    frame = explore_data["frame"]
    open_explore(page, explore_url(server, explore_data))
    page.wait_for_selector("[data-testid=facets] [data-testid=facet][data-column=section] button.facet-row")
    value, count = facet_rows(page, "section")[0]
    assert count == int((frame["section"] == value).sum())
    page.locator("[data-testid=facets] [data-testid=facet][data-column=section] button.facet-row").first.click()
    wait_for_total(page, count)
    assert json.loads(where_of(page.url)) == [{"column": "section", "op": "=", "value": value}]
    assert page.locator("[data-testid=map]").get_attribute("data-matching") == str(count)
    # The other charts follow; the section chart keeps its alternatives, with the scope's counts beside.
    page.wait_for_function(
        "n => document.querySelector('[data-testid=facets-total]').textContent.startsWith(`${n} rows`)", arg=count
    )
    free = dict(facet_rows(page, "free"))
    picked = frame[frame["section"] == value]
    assert free[True] == int((picked["free"] == True).sum())  # noqa: E712 (pandas' nullable booleans)
    assert len(facet_rows(page, "section")) > 1
    assert page.locator("[data-testid=facets] [data-testid=facet][data-column=section] .bar .scope").count() > 1
    # Brush the first half of the date histogram: two range conditions, and the rows follow.
    box = page.locator("[data-testid=facets] [data-testid=facet][data-column=released] svg").bounding_box()
    page.mouse.move(box["x"] + 3, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=6)
    page.mouse.up()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=chip][data-kind=where]').length === 3")
    where = where_of(page.url)
    expected = api(server, explore_data, "rows", [("where", where), ("limit", "1")])["total"]
    low, high = (c["value"] for c in json.loads(where)[1:])
    released = picked["released"]
    assert expected == int(((released >= pd.Timestamp(low)) & (released < pd.Timestamp(high))).sum()) > 0
    wait_for_total(page, expected)
    inside = page.locator("[data-testid=facets] [data-testid=facet][data-column=released] rect.in").count()
    assert (
        1
        < inside
        < page.locator("[data-testid=facets] [data-testid=facet][data-column=released] rect.out").count() + inside
    )
    save(page.screenshot(), "explore-facets.png")
    # Its clear button takes the range back.
    page.locator("[data-testid=facets] [data-testid=facet][data-column=released] button.clear").click()
    wait_for_total(page, count)


def test_facets_rank_by_lift_and_pick_columns(page, server, explore_data):
    points = explore_data["points"]
    cluster = int(points.loc[points["cluster"] >= 0, "cluster"].value_counts().index[0])
    open_explore(page, explore_url(server, explore_data, f"cluster={cluster}"))
    page.wait_for_selector("[data-testid=facets] [data-testid=facet][data-column=section] .bar .scope")
    page.locator("[data-testid=facet-rank]").click()
    page.wait_for_function("() => location.search.includes('facet_rank=lift')")
    page.wait_for_selector("[data-testid=facets][data-rank=lift] [data-testid=facet][data-column=section]")
    want = api(server, explore_data, "facets", [("column", "section"), ("cluster", str(cluster)), ("rank", "lift")])
    ranked = [b["value"] for b in want["facets"][0]["buckets"]]
    assert [v for v, _ in facet_rows(page, "section")] == ranked
    # A column picked in the menu is charted, and stays in the URL.
    assert (
        page.locator("[data-testid=facets] [data-testid=facet][data-column=ratio]").count() == 0
    )  # not among the defaults
    page.locator("[data-testid=facet-picker]").click()
    page.locator(".facet-picker input[data-column=ratio]").check()
    page.wait_for_selector("[data-testid=facets] [data-testid=facet][data-column=ratio] svg")
    assert "ratio" in urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)["facets"][0].split(",")


def test_a_clicked_point_lists_its_neighbours_which_become_a_filter_or_a_tag(page, server, explore_data):
    points = explore_data["points"]
    open_explore(page, explore_url(server, explore_data))
    box = page.locator("[data-testid=map]").bounding_box()
    # The most isolated point inside the first view (which frames the bulk, so an outlier may lie outside it): a click
    # there picks that point and no other.
    screen = np.array(
        page.evaluate("xy => xy.map(([x, y]) => window.__lsProject(x, y))", points[["x", "y"]].to_numpy().tolist())
    )
    margin = 20
    inside = (screen > margin).all(axis=1) & (screen < [box["width"] - margin, box["height"] - margin]).all(axis=1)
    gaps = np.linalg.norm(screen[:, None, :] - screen[None, :, :], axis=2)
    np.fill_diagonal(gaps, np.inf)
    isolation = np.where(inside, gaps.min(axis=1), -1)
    sx, sy = screen[int(isolation.argmax())]
    page.mouse.click(box["x"] + sx, box["y"] + sy)
    page.wait_for_selector("[data-testid=neighbor]")
    picked = int(urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)["near"][0])
    want = api(server, explore_data, "neighbors", [("ls_index", str(picked)), ("k", "20")])["results"]
    assert want[0]["ls_index"] == picked  # a row is its own nearest
    listed = page.locator("[data-testid=neighbor]").evaluate_all(
        "items => items.map(i => [Number(i.dataset.lsIndex), Number(i.querySelector('.score').textContent)])"
    )
    assert [i for i, _ in listed] == [r["ls_index"] for r in want[1:]]
    assert [s for _, s in listed] == [round(r["score"], 3) for r in want[1:]]
    page.wait_for_function("() => Number(document.querySelector('[data-testid=map]').dataset.highlighted) >= 20")
    save(page.screenshot(), "explore-neighbours.png")
    # One click: the row and its neighbours are the selection; the table lists exactly them.
    page.locator("[data-testid=neighbors-filter]").click()
    wait_for_total(page, 20)
    shown = page.locator("[data-testid=rows] tbody tr").evaluate_all("rows => rows.map(r => Number(r.dataset.lsIndex))")
    assert sorted(shown) == sorted(r["ls_index"] for r in want)
    # A table row's click lists that row's neighbours instead.
    other = shown[-1]
    page.locator(f"[data-testid=rows] tbody tr[data-ls-index='{other}']").click()
    page.wait_for_function("i => location.search.includes(`near=${i}`)", arg=other)
    page.wait_for_function(
        "i => document.querySelector('[data-testid=neighbors-panel] h3').textContent.includes(`#${i}`)", arg=other
    )
    # The studio adds them to a tag in one click.
    page.locator("[data-testid=neighbors-tag]").select_option("liked")
    page.locator("[data-testid=neighbors-tag-add]").click()
    page.wait_for_selector("[data-testid=neighbors-status]:has-text('Added')")
    with urllib.request.urlopen(f"{server}/api/datasets/sample/tags/liked") as res:
        tagged = set(json.load(res)["indices"])
    mine = api(server, explore_data, "neighbors", [("ls_index", str(other)), ("k", "20")])["results"]
    assert tagged == {0} | {r["ls_index"] for r in mine}


@pytest.fixture(scope="module")
def x_archive(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """An X archive over five years, imported as a user does and run through the small recipe."""
    from ls_pipeline import steps
    from ls_pipeline.recipe import parse_recipe
    from ls_pipeline.sources import twitter
    from ls_pipeline.steps.x_archive import ArchiveSource, import_archive
    from ls_pipeline.store import DataDir
    from tests.conftest import SMALL_RECIPE
    from tests.x_archives import dated_topic_tweets, write_zip

    work = tmp_path_factory.mktemp("x-archive")
    archive = write_zip(work / "archive.zip", dated_topic_tweets(96))
    data = DataDir(work / "data")
    import_archive(data, "tweets", ArchiveSource("zip", zip_path=str(archive)), twitter.TweetFilters())
    scope = steps.run_recipe(data.dataset("tweets"), parse_recipe("small", SMALL_RECIPE))["scope"].id
    ensure_frontend_built()
    with viewer_server(data.root) as url:
        yield {"url": url, "scope": scope, "frame": pd.read_parquet(data.root / "tweets" / "input.parquet")}


def x_total(x_archive: dict[str, object], params: list[tuple[str, str]]) -> int:
    query = urllib.parse.urlencode([*params, ("limit", "1")])
    with urllib.request.urlopen(
        f"{x_archive['url']}/api/datasets/tweets/scopes/{x_archive['scope']}/rows?{query}"
    ) as r:
        return json.load(r)["total"]


def test_x_archive_timeline_brush_playback_and_colour_by_time(browser, x_archive):
    frame = x_archive["frame"]
    context = browser.new_context(viewport={"width": 1400, "height": 900}, color_scheme="light")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        open_explore(page, f"{x_archive['url']}/datasets/tweets/explore/{x_archive['scope']}")
        timeline = page.locator("[data-testid=timeline]")
        timeline.locator("svg").wait_for()
        assert timeline.get_by_label("Time column").input_value() == "created_at"
        # Brush the middle of the timeline: the rows follow, exactly those in the range.
        box = timeline.locator("svg").bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2, steps=6)
        page.mouse.up()
        page.wait_for_function("() => location.search.includes('created_at')")
        where = where_of(page.url)
        low, high = (pd.Timestamp(c["value"]) for c in json.loads(where))
        expected = int(((frame["created_at"] >= low) & (frame["created_at"] < high)).sum())
        assert 0 < expected < len(frame) and x_total(x_archive, [("where", where)]) == expected
        wait_for_total(page, expected)
        save(page.screenshot(), "explore-timeline.png")
        page.locator("[data-testid=chip][data-kind=where] button.x").first.click()
        page.locator("[data-testid=chip][data-kind=where] button.x").first.click()
        wait_for_total(page, len(frame))
        # Playback at 4x: the window moves, then pauses, and becomes a filter in one click.
        timeline.get_by_label("Playback speed").select_option("4")
        page.locator("[data-testid=play]").click()
        page.wait_for_function("() => document.querySelector('[data-testid=map]').dataset.playback !== undefined")
        first = page.locator("[data-testid=time-window]").inner_text()
        page.wait_for_function(
            "w => document.querySelector('[data-testid=time-window]').textContent !== w", arg=first, timeout=10_000
        )
        save(page.screenshot(), "explore-playback.png")
        page.locator("[data-testid=play]").click()  # pause
        assert page.locator("[data-testid=play]").get_attribute("aria-pressed") == "false"
        paused = page.locator("[data-testid=time-window]").inner_text()
        page.wait_for_timeout(400)
        assert page.locator("[data-testid=time-window]").inner_text() == paused
        shown = int(page.locator("[data-testid=map]").get_attribute("data-playback"))
        page.locator("[data-testid=keep-window]").click()
        page.wait_for_function("() => location.search.includes('created_at')")
        low, high = (pd.Timestamp(c["value"]) for c in json.loads(where_of(page.url)))
        in_window = int(((frame["created_at"] >= low) & (frame["created_at"] < high)).sum())
        assert in_window == shown  # the points the window showed are the rows the filter keeps
        wait_for_total(page, in_window)
        # Colour by time: the points' colour follows created_at.
        before = map_shot(page)
        timeline.get_by_role("button", name="Colour by time").click()
        page.wait_for_function("() => location.search.includes('color=created_at')")
        assert until_map_differs(page, before) != before
    finally:
        context.close()
    assert not errors, errors


def test_labels_follow_the_zoom_from_top_topics_to_clusters(page, server, explore_data):
    scope = json.loads((explore_data["root"] / "sample" / "scopes" / f"{explore_data['scope']}.json").read_text())
    levels = {t["level"] for t in scope["cluster_levels_lookup"]}
    top = max(levels)
    assert top >= 2, "the small recipe labels two levels above the clusters"
    by_level = {n: sum(1 for t in scope["cluster_levels_lookup"] if t["level"] == n) for n in levels}
    clusters = sum(1 for c in scope["cluster_labels_lookup"] if not c.get("noise"))
    open_explore(page, explore_url(server, explore_data))
    mapped = page.locator("[data-testid=map]")
    page.wait_for_function("() => document.querySelector('[data-testid=map]').dataset.labelLevel !== undefined")
    assert mapped.get_attribute("data-label-level") == str(top)
    assert mapped.get_attribute("data-label-count") == str(by_level[top])
    save(mapped.screenshot(), "explore-zoom-top.png")
    box = mapped.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    seen = [top]
    for _ in range(12):  # wheel in until the clusters' own labels show
        page.mouse.wheel(0, -300)
        page.wait_for_timeout(150)
        level = int(mapped.get_attribute("data-label-level"))
        if level != seen[-1]:
            seen.append(level)
        if level == 0:
            break
    assert seen == list(range(top, -1, -1)), seen  # one level at a time, finer as the zoom grows
    assert mapped.get_attribute("data-label-count") == str(clusters)
    save(mapped.screenshot(), "explore-zoom-clusters.png")
    for _ in range(12):  # and back out to the top level
        page.mouse.wheel(0, 300)
        page.wait_for_timeout(150)
    page.wait_for_function(f"() => document.querySelector('[data-testid=map]').dataset.labelLevel === '{top}'")


def tiled(source: Path, target: Path, scope_id: str, rows: int) -> None:
    """The sample tiled to `rows` rows (each copy jittered on the map): a map as big as the density's default needs,
    without embedding that many rows. It has no vectors: search is not what it is for."""
    rng = np.random.default_rng(0)
    frame = pd.read_parquet(source / "input.parquet")
    take = np.arange(rows) % len(frame)
    (target / "scopes").mkdir(parents=True)
    frame.iloc[take].reset_index(drop=True).to_parquet(target / "input.parquet", index=False)
    scope = pd.read_parquet(source / "scopes" / f"{scope_id}.parquet").iloc[take].reset_index(drop=True)
    scope["ls_index"] = np.arange(rows)
    for axis in ("x", "y"):
        scope[axis] = (scope[axis] + rng.normal(0, 0.01, rows) * (take != np.arange(rows))).astype(np.float32)
    scope.to_parquet(target / "scopes" / f"{scope_id}.parquet", index=False)
    meta = json.loads((source / "meta.json").read_text())
    (target / "meta.json").write_text(json.dumps({**meta, "id": target.name, "length": rows}))
    sidecar = json.loads((source / "scopes" / f"{scope_id}.json").read_text())
    (target / "scopes" / f"{scope_id}.json").write_text(json.dumps({**sidecar, "dataset": target.name, "rows": rows}))


def map_shot(page) -> bytes:
    """The map as drawn with its current layers: a redraw is forced and waited for first (software WebGL may take
    longer than any fixed wait for its next frame)."""
    page.evaluate("window.__lsRedrawMs()")
    return page.locator("[data-testid=map]").screenshot()


def map_pixels(page) -> int:
    return non_background_pixels(map_shot(page))


def until_map_differs(page, before: bytes, timeout_s: float = 30) -> bytes:
    """The map once it no longer looks as `before` (what changes it may wait for a download)."""
    deadline = time.monotonic() + timeout_s
    while True:
        shot = map_shot(page)
        if shot != before or time.monotonic() > deadline:
            return shot
        page.wait_for_timeout(200)


def test_density_is_on_by_default_on_big_maps_off_on_small_ones(browser, explore_data, tmp_path):
    root = tmp_path / "data"
    tiled(explore_data["root"] / "sample", root / "big", explore_data["scope"], 50_001)
    context = browser.new_context(viewport={"width": 1400, "height": 900}, color_scheme="light")
    page = context.new_page()
    try:
        with viewer_server(root) as url:
            open_explore(page, f"{url}/datasets/big/explore/{explore_data['scope']}")
            mapped = page.locator("[data-testid=map]")
            assert mapped.get_attribute("data-density") == "true"
            page.locator("[data-testid=map-style] summary").click()
            assert page.locator("[data-testid=density]").is_checked()
            assert float(page.locator("[data-testid=point-opacity]").input_value()) < 1  # the density shows through
            with_density = map_shot(page)
            save(page.screenshot(), "explore-density.png")
            page.locator("[data-testid=density]").uncheck()
            page.wait_for_function("() => location.search.includes('density=off')")
            assert mapped.get_attribute("data-density") == "false"
            assert map_shot(page) != with_density
    finally:
        context.close()


def test_point_size_and_opacity_restyle_the_map_and_stay_in_the_url(page, server, explore_data):
    open_explore(page, explore_url(server, explore_data))
    mapped = page.locator("[data-testid=map]")
    assert mapped.get_attribute("data-density") == "false"  # a few hundred points: no density unless asked for
    page.locator("[data-testid=map-style] summary").click()
    before = map_pixels(page)
    page.locator("[data-testid=point-size]").fill("3")
    page.wait_for_function("() => location.search.includes('point_size=3')")
    bigger = map_pixels(page)
    assert bigger > before * 1.5
    page.locator("[data-testid=point-opacity]").fill("0.1")
    page.wait_for_function("() => location.search.includes('point_opacity=0.1')")
    assert map_pixels(page) < bigger  # faint points blend into the background
    page.locator("[data-testid=density]").check()
    page.wait_for_function("() => location.search.includes('density=on')")
    page.reload()
    open_explore(page, page.url)
    assert mapped.get_attribute("data-density") == "true"
    page.locator("[data-testid=map-style] summary").click()
    assert page.locator("[data-testid=point-size]").input_value() == "3"
