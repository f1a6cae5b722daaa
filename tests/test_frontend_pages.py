"""The home page (datasets, scopes, thumbnails) and single_profile mode, in real headless Chromium."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest

from tests.browser import ARTIFACTS, chromium, ensure_frontend_built, non_background_pixels, viewer_server


@pytest.fixture(scope="module")
def two_datasets(built_data: dict[str, object], tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The built dataset twice ('sample' and 'other'), so single_profile has something to hide."""
    root = tmp_path_factory.mktemp("pages") / "data"
    shutil.copytree(built_data["root"], root)
    shutil.copytree(root / "sample", root / "other")
    for path in [root / "other" / "meta.json", *(root / "other" / "scopes").glob("*.json")]:
        doc = json.loads(path.read_text())
        doc["id" if path.name == "meta.json" else "dataset"] = "other"
        path.write_text(json.dumps(doc))
    return {"root": root, "scope": built_data["ids"]["scope"]}


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    ensure_frontend_built()
    with chromium() as b:
        yield b


def test_home_lists_datasets_and_scopes_with_thumbnails(browser, two_datasets):
    with viewer_server(two_datasets["root"]) as url:
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.goto(url + "/")
        page.wait_for_selector("[data-testid=dataset]")
        names = page.locator("[data-testid=dataset]").evaluate_all("els => els.map(e => e.dataset.dataset)")
        assert sorted(names) == ["other", "sample"]
        thumb = page.locator("[data-testid=dataset][data-dataset=sample] .scope-card img").first
        thumb.wait_for()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
        assert non_background_pixels(thumb.screenshot()) > 200
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "home.png"))
        page.locator("[data-testid=dataset][data-dataset=sample] .scope-card").first.click()
        page.wait_for_selector("[data-testid=map][data-drawn=true]")
        assert page.url.endswith(f"/datasets/sample/explore/{two_datasets['scope']}")
        assert page.locator("[data-testid=scope-switch]").count() == 1
        page.close()


def test_single_profile_shows_only_the_public_scope(browser, two_datasets):
    env = {
        "LATENT_SCOPE_APP_MODE": "single_profile",
        "LATENT_SCOPE_PUBLIC_DATASET": "sample",
        "LATENT_SCOPE_PUBLIC_SCOPE": two_datasets["scope"],
    }
    with viewer_server(two_datasets["root"], env=env) as url:
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        for path in ("/", f"/datasets/other/explore/{two_datasets['scope']}"):
            page.goto(url + path)
            page.wait_for_selector("[data-testid=map][data-drawn=true]")
            assert page.url.startswith(f"{url}/datasets/sample/explore/{two_datasets['scope']}")
        # A public page: no home link, no scope switcher, but the explore tools are there.
        assert page.locator("a.brand").count() == 0
        assert page.locator("[data-testid=scope-switch]").count() == 0
        assert page.locator("[data-testid=cluster-item]").count() > 0
        page.wait_for_selector("[data-testid=rows] tbody tr")
        page.close()
