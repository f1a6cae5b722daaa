"""The explore page's analyst tools in real headless Chromium against the real viewer: keyword search, facets with
cross-filtering, a point's neighbours, labels by zoom, the timeline with playback, and the density layer."""

from __future__ import annotations

import json
import re
import shutil
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pandas as pd
import pytest

from tests.browser import ARTIFACTS, chromium, ensure_frontend_built, viewer_server


@pytest.fixture(scope="module")
def explore_data(built_data: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("analyst") / "data"
    shutil.copytree(built_data["root"], root)
    scope_id = built_data["ids"]["scope"]
    frame = pd.read_parquet(root / "sample" / "input.parquet")
    scope = pd.read_parquet(root / "sample" / "scopes" / f"{scope_id}.parquet")
    return {"root": root, "scope": scope_id, "frame": frame, "points": scope}


@pytest.fixture(scope="module")
def server(explore_data: dict[str, object]) -> Iterator[str]:
    ensure_frontend_built()
    with viewer_server(explore_data["root"]) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser, server: str) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, color_scheme="light")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def explore_url(server: str, data: dict[str, object], query: str = "") -> str:
    return f"{server}/datasets/sample/explore/{data['scope']}{'?' + query if query else ''}"


def open_explore(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("[data-testid=map][data-drawn=true]", timeout=30_000)
    page.wait_for_selector("[data-testid=rows] tbody tr", timeout=30_000)


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
