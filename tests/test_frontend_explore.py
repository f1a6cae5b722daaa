"""The explore page in real headless Chromium against the real viewer over a data directory made by the pipeline."""

from __future__ import annotations

import io
import json
import shutil
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pandas as pd
import pytest

from tests.browser import (
    ARTIFACTS,
    dark_text_pixels,
    dominant_colour,
    draw_lasso,
    ensure_frontend_built,
    explore_url,
    non_background_pixels,
    open_explore,
    viewer_server,
)

TAG = "even-rows"


@pytest.fixture(scope="module")
def explore_data(built_data: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A copy of the built data directory with one tag (every even row), so tests can change it freely."""
    root = tmp_path_factory.mktemp("frontend") / "data"
    shutil.copytree(built_data["root"], root)
    scope_id = built_data["ids"]["scope"]
    frame = pd.read_parquet(root / "sample" / "input.parquet")
    scope = pd.read_parquet(root / "sample" / "scopes" / f"{scope_id}.parquet")
    (root / "sample" / "tags").mkdir(exist_ok=True)
    (root / "sample" / "tags" / f"{TAG}.indices").write_text("".join(f"{i}\n" for i in range(0, len(frame), 2)))
    return {"root": root, "scope": scope_id, "frame": frame, "points": scope}


@pytest.fixture(scope="module")
def server(explore_data: dict[str, object]) -> Iterator[str]:
    ensure_frontend_built()
    with viewer_server(explore_data["root"]) as url:
        yield url


def table_total(page) -> int:
    text = page.locator("[data-testid=table-total]").inner_text()
    return int(text.rsplit(" of ", 1)[1].split()[0].replace(",", ""))


def api_total(server: str, data: dict[str, object], params: list[tuple[str, str]]) -> int:
    url = f"{server}/api/datasets/sample/scopes/{data['scope']}/rows?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url) as res:
        return json.load(res)["total"]


def save(png: bytes, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / name).write_bytes(png)


def test_map_canvas_draws_points(page, server, explore_data):
    open_explore(page, explore_url(server, explore_data))
    assert page.locator("[data-testid=map]").get_attribute("data-points") == str(len(explore_data["points"]))
    shot = page.locator("[data-testid=map]").screenshot()
    save(page.screenshot(), "explore-light.png")
    # Hundreds of points at >= 3 px radius plus labels: far more than a blank or near-blank canvas.
    assert non_background_pixels(shot) > 2000
    first_frame = page.evaluate("window.__lsFirstFrame")
    assert first_frame and first_frame > 0


def test_clicking_a_cluster_filters_the_table(page, server, explore_data):
    open_explore(page, explore_url(server, explore_data))
    points = explore_data["points"]
    item = page.locator("[data-testid=cluster-item]").first  # the largest cluster (sorted by size)
    cluster = int(item.get_attribute("data-cluster"))
    expected = int((points["cluster"] == cluster).sum())
    item.click()
    page.wait_for_function(
        "n => document.querySelector('[data-testid=table-total]').textContent.endsWith(`of ${n} rows`)", arg=expected
    )
    assert item.get_attribute("aria-pressed") == "true"
    clusters_in_table = page.locator("[data-testid=rows] tbody tr").evaluate_all(
        "rows => rows.map(r => Number(r.dataset.cluster))"
    )
    assert clusters_in_table and set(clusters_in_table) == {cluster}
    assert f"cluster={cluster}" in page.url
    assert page.locator("[data-testid=map]").get_attribute("data-matching") == str(expected)
    save(page.screenshot(), "explore-cluster-filter.png")


def test_search_lists_and_highlights_results(page, server, explore_data):
    open_explore(page, explore_url(server, explore_data))
    before = page.locator("[data-testid=map]").screenshot()
    page.get_by_label("Semantic search").fill("video game for children")
    page.get_by_label("Semantic search").press("Enter")
    page.wait_for_selector("[data-testid=search-result]")
    results = page.locator("[data-testid=search-result]")
    assert results.count() > 0
    scores = [float(s) for s in page.locator("[data-testid=search-result] .score").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    page.wait_for_function("() => Number(document.querySelector('[data-testid=map]').dataset.highlighted) > 0")
    highlighted = int(page.locator("[data-testid=map]").get_attribute("data-highlighted"))
    assert highlighted >= results.count()
    # The top hit is on the map's highlight layer and the table carries scores, best first.
    page.get_by_role("button", name="Sort by score").wait_for()
    after = page.locator("[data-testid=map]").screenshot()
    assert before != after
    assert page.locator("[data-testid=chip][data-kind=search]").count() == 1
    top = results.first.get_attribute("data-ls-index")
    game_rows = page.locator("[data-testid=rows] tbody tr").evaluate_all("rows => rows.map(r => r.dataset.lsIndex)")
    assert top in game_rows
    save(page.screenshot(), "explore-search.png")


def test_combined_filters_round_trip_through_the_url(page, server, explore_data):
    points, frame = explore_data["points"], explore_data["frame"]
    # A row that passes every filter below: its cluster, the even-row tag, its own section, a query from its text.
    candidates = points[(points["cluster"] >= 0) & (points["ls_index"] % 2 == 0)]
    anchor = candidates.iloc[0]
    row = frame.iloc[int(anchor["ls_index"])]
    cluster, section, query = int(anchor["cluster"]), str(row["section"]), " ".join(str(row["text"]).split()[:12])

    open_explore(page, explore_url(server, explore_data))
    page.locator(f"[data-testid=cluster-item][data-cluster='{cluster}']").click()
    page.locator(f"button.tag[data-tag='{TAG}']").click()
    page.get_by_label("Column").select_option("section")
    page.get_by_label("Operator").select_option("=")
    page.get_by_label("Value").fill(section)
    page.get_by_role("button", name="Add", exact=True).click()  # the condition form's, not the tag editor's
    page.get_by_label("Semantic search").fill(query)
    page.get_by_label("Semantic search").press("Enter")
    page.wait_for_selector("[data-testid=search-result]")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=chip]').length === 4")

    where = json.dumps([{"column": "section", "op": "=", "value": section}])
    params = [("cluster", str(cluster)), ("tag", TAG), ("where", where), ("q", query), ("k", "100")]
    expected = api_total(server, explore_data, params)
    assert expected >= 1
    page.wait_for_function(
        "n => document.querySelector('[data-testid=table-total]').textContent.endsWith(`of ${n} rows`)", arg=expected
    )
    url = page.url
    page.reload()
    open_explore(page, url)
    kinds = page.locator("[data-testid=chip]").evaluate_all("chips => chips.map(c => c.dataset.kind)")
    assert sorted(kinds) == ["cluster", "search", "tag", "where"]
    assert page.locator("[data-testid=chip][data-kind=where] .text").inner_text() == f"section = {section}"
    assert table_total(page) == expected
    shown = page.locator("[data-testid=rows] tbody tr").evaluate_all(
        "rows => rows.map(r => [Number(r.dataset.lsIndex), Number(r.dataset.cluster)])"
    )
    assert int(anchor["ls_index"]) in [i for i, _ in shown]
    for ls_index, c in shown:
        assert c == cluster and ls_index % 2 == 0 and frame.iloc[ls_index]["section"] == section
    assert page.get_by_label("Semantic search").input_value() == query
    # Export downloads exactly the filtered rows.
    with urllib.request.urlopen(server + page.locator("[data-testid=export]").get_attribute("href")) as res:
        exported = pd.read_csv(io.BytesIO(res.read()))
    assert len(exported) == expected and set(exported["cluster"]) == {cluster}
    # Removing a chip updates the URL and widens the table.
    page.locator("[data-testid=chip][data-kind=tag] button.x").click()
    page.wait_for_function("() => !location.search.includes('tag=')")
    widened = api_total(server, explore_data, [p for p in params if p[0] != "tag"])
    page.wait_for_function(
        "n => document.querySelector('[data-testid=table-total]').textContent.endsWith(`of ${n} rows`)", arg=widened
    )
    save(page.screenshot(), "explore-combined-filters.png")


def test_dark_mode_switches_palettes(page, server, explore_data):
    open_explore(page, explore_url(server, explore_data))
    swatch = "[data-testid=cluster-item] .swatch"
    light_colour = page.locator(swatch).first.evaluate("el => getComputedStyle(el).backgroundColor")
    light_bg = dominant_colour(page.locator("[data-testid=map]").screenshot())
    page.locator("[data-testid=theme-toggle]").click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    page.wait_for_timeout(300)
    dark_colour = page.locator(swatch).first.evaluate("el => getComputedStyle(el).backgroundColor")
    dark_shot = page.locator("[data-testid=map]").screenshot()
    dark_bg = dominant_colour(dark_shot)
    assert dark_colour != light_colour  # the same cluster, the dark palette's lighter tone
    assert sum(light_bg) > 600 and sum(dark_bg) < 120  # paper vs near-black background
    assert non_background_pixels(dark_shot) > 2000
    save(page.screenshot(), "explore-dark.png")
    # The choice persists across a reload.
    page.reload()
    page.wait_for_selector("[data-testid=map][data-drawn=true]")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"


def test_lasso_selects_points_and_the_table_follows(page, server, explore_data):
    open_explore(page, explore_url(server, explore_data))
    draw_lasso(page, 150)
    matching = int(page.locator("[data-testid=map]").get_attribute("data-matching"))
    assert 0 < matching < len(explore_data["points"])
    page.wait_for_function(
        "n => document.querySelector('[data-testid=table-total]').textContent.endsWith(`of ${n} rows`)", arg=matching
    )
    assert "lasso=" in page.url


def test_hover_card_shows_the_row_text(page, server, explore_data):
    open_explore(page, explore_url(server, explore_data))
    points, frame = explore_data["points"], explore_data["frame"]
    # The point farthest from the centre is the least likely to sit under another point.
    far = points.iloc[int(((points["x"] ** 2) + (points["y"] ** 2)).to_numpy().argmax())]
    box = page.locator("[data-testid=map]").bounding_box()
    sx, sy = page.evaluate("([x, y]) => window.__lsProject(x, y)", [float(far["x"]), float(far["y"])])
    page.mouse.move(box["x"] + sx, box["y"] + sy)
    card = page.locator(".hovercard")
    card.wait_for(state="visible")
    page.wait_for_function("() => !document.querySelector('.hovercard .card-text').textContent.startsWith('…')")
    index = int(card.locator(".card-head .muted").inner_text().lstrip("#"))
    text = str(frame.iloc[index]["text"])
    assert card.locator(".card-text").inner_text().rstrip("…") in text
    assert abs(points.iloc[index]["x"] - far["x"]) < 0.05 and abs(points.iloc[index]["y"] - far["y"]) < 0.05
    # A click picks that point: one chip, the table shows exactly that row.
    page.mouse.click(box["x"] + sx, box["y"] + sy)
    page.wait_for_selector("[data-testid=chip][data-kind=points]")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=table-total]').textContent.endsWith(' of 1 rows')"
    )
    picked = int(urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)["sel"][0])
    assert page.locator("[data-testid=rows] tbody tr").get_attribute("data-ls-index") == str(picked)
    assert abs(points.iloc[picked]["x"] - far["x"]) < 0.05 and abs(points.iloc[picked]["y"] - far["y"]) < 0.05


def test_colour_by_a_column_recolours_the_map(page, server, explore_data):
    open_explore(page, explore_url(server, explore_data))
    before = page.locator("[data-testid=map]").screenshot()
    page.get_by_label("Colour by").select_option("section")
    page.wait_for_function("() => location.search.includes('color=section')")
    page.wait_for_timeout(500)
    after = page.locator("[data-testid=map]").screenshot()
    assert before != after and non_background_pixels(after) > 2000
    page.reload()
    page.wait_for_selector("[data-testid=map][data-drawn=true]")
    assert page.get_by_label("Colour by").input_value() == "section"


def test_table_sorts_by_a_column_on_the_server(page, server, explore_data):
    open_explore(page, explore_url(server, explore_data))
    page.get_by_role("button", name="Sort by package").click()
    page.wait_for_function("() => location.search.includes('sort=package')")
    first = page.locator("[data-testid=rows] tbody tr").first
    page.wait_for_function(
        "i => document.querySelector('[data-testid=rows] tbody tr').dataset.lsIndex === String(i)",
        arg=int(explore_data["frame"]["package"].idxmin()),
    )
    page.get_by_role("button", name="Sort by package").click()
    page.wait_for_function("() => location.search.includes('sort=-package')")
    page.wait_for_function(
        "i => document.querySelector('[data-testid=rows] tbody tr').dataset.lsIndex === String(i)",
        arg=int(explore_data["frame"]["package"].idxmax()),
    )
    assert first.get_attribute("data-ls-index") == str(int(explore_data["frame"]["package"].idxmax()))


def test_a_bad_condition_in_the_url_shows_the_servers_error(page, server, explore_data):
    where = urllib.parse.quote(json.dumps([{"column": "no_such_column", "op": "=", "value": 1}]))
    page.goto(explore_url(server, explore_data, f"where={where}"))
    error = page.locator("[data-testid=error]")
    error.wait_for(state="visible", timeout=30_000)
    assert "no_such_column" in error.inner_text()
    assert page.locator("[data-testid=chip][data-kind=where]").count() == 1  # removable, to recover
    page.locator("[data-testid=chip][data-kind=where] button.x").click()
    error.wait_for(state="hidden")
    page.wait_for_selector("[data-testid=rows] tbody tr")


def test_topic_tree_nests_levels_and_a_topic_filters_its_clusters(page, server, explore_data):
    """Topics at two levels above the clusters, nested as the scope's levels say; a level-1 topic's filter selects
    exactly its clusters (the finest level) and the table follows."""
    scope = json.loads((explore_data["root"] / "sample" / "scopes" / f"{explore_data['scope']}.json").read_text())
    topics = scope["cluster_levels_lookup"]
    assert {t["level"] for t in topics} == {1, 2}, "the default recipe labels two levels above the clusters"
    open_explore(page, explore_url(server, explore_data))
    tree = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=topic][data-level="2"]')].map(top => ({
            label: top.querySelector(':scope > summary .label').textContent,
            inner: [...top.querySelectorAll(':scope > [data-testid=topic]')].map(t => ({
                level: t.dataset.level,
                label: t.querySelector(':scope > summary .label').textContent,
                clusters: [...t.querySelectorAll('[data-testid=cluster-item]')].map(c => Number(c.dataset.cluster)),
            })),
        }))"""
    )
    level1 = {t["label"]: t for t in topics if t["level"] == 1}
    level2 = {t["label"]: t for t in topics if t["level"] == 2}
    assert {t["label"] for t in tree} == set(level2)
    for top in tree:
        assert top["inner"] and all(t["level"] == "1" for t in top["inner"])
        for inner in top["inner"]:
            expected = level1[inner["label"]]
            assert expected["parent"] == level2[top["label"]]["cluster"]
            assert sorted(inner["clusters"]) == sorted(expected["children"])
    first = page.locator('[data-testid=topic][data-level="1"]').first
    children = level1[first.locator(":scope > summary .label").inner_text()]["children"]
    first.locator(":scope > summary button").click()
    points = explore_data["points"]
    expected_rows = int(points["cluster"].isin(children).sum())
    page.wait_for_function(
        "n => document.querySelector('[data-testid=table-total]').textContent.endsWith(`of ${n} rows`)",
        arg=expected_rows,
    )
    pressed = page.locator("[data-testid=cluster-item][aria-pressed=true]").evaluate_all(
        "items => [...new Set(items.map(i => Number(i.dataset.cluster)))]"
    )
    assert sorted(pressed) == sorted(children)
    save(page.screenshot(), "explore-topic-tree.png")


@pytest.fixture(scope="module")
def big_cluster_server(explore_data: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The same scope, its cluster counts as a map of millions of rows has them (thousands to hundreds of thousands)."""
    root = tmp_path_factory.mktemp("big-clusters") / "data"
    shutil.copytree(explore_data["root"], root)
    sidecar_path = root / "sample" / "scopes" / f"{explore_data['scope']}.json"
    sidecar = json.loads(sidecar_path.read_text())
    for entry in sidecar["cluster_labels_lookup"]:
        entry["count"] = entry["count"] * 5_000
    sidecar_path.write_text(json.dumps(sidecar))
    ensure_frontend_built()
    with viewer_server(root) as url:
        yield url


def test_cluster_labels_are_drawn_when_clusters_hold_thousands_of_rows(browser, big_cluster_server, explore_data):
    # deck.gl's collision filter (the map's label placement before map-labels.js) dropped a label whose priority lay
    # outside [-1000, 1000]; the map passed raw counts, so no label of a cluster over 1,000 rows was ever drawn.
    context = browser.new_context(viewport={"width": 1400, "height": 900}, color_scheme="light")
    page = context.new_page()
    try:
        open_explore(page, explore_url(big_cluster_server, explore_data))
        page.wait_for_function("performance.getEntriesByName('ls-overlays-drawn').length > 0", timeout=60_000)
        box = page.locator("[data-testid=map]").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        for _ in range(12):  # the first view names the top topics; zoomed in, the clusters themselves
            page.mouse.wheel(0, -400)
            if page.locator("[data-testid=map]").get_attribute("data-label-level") == "0":
                break
        page.wait_for_function("document.querySelector('[data-testid=map]').dataset.labelLevel === '0'")
        page.wait_for_timeout(300)
        shot = page.locator("[data-testid=map]").screenshot()
        save(shot, "explore-big-cluster-labels.png")
        clusters = json.load(
            urllib.request.urlopen(f"{big_cluster_server}/api/datasets/sample/scopes/{explore_data['scope']}/clusters")
        )
        assert min(c["count"] for c in clusters if not c.get("noise")) > 1000
        shown = json.loads(page.locator("[data-testid=map]").get_attribute("data-labels"))
        assert shown and {label for label, *_ in shown} <= {c["label"] for c in clusters}
        # hundreds of such pixels with the labels drawn here, none without them
        assert dark_text_pixels(shot) > 150, "no cluster label was drawn on the map"
    finally:
        context.close()
