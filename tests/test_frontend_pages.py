"""The home page (datasets, scopes, thumbnails) and single_profile mode, in real headless Chromium."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.browser import ARTIFACTS, non_background_pixels, viewer_server


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
    add_topic_level(root / "other" / "scopes" / f"{built_data['ids']['scope']}.json")
    return {"root": root, "scope": built_data["ids"]["scope"]}


def add_topic_level(sidecar_path: Path) -> None:
    """Give 'other' a one-level topic hierarchy of its own in the scope's lookup (level 1 topics, `parent` on each
    cluster), in place of the levels the labeler made: the tree must work with any number of levels."""
    doc = json.loads(sidecar_path.read_text())
    doc["cluster_levels_lookup"] = []
    clusters = sorted((c for c in doc["cluster_labels_lookup"] if not c.get("noise")), key=lambda c: c["cluster"])
    halves = [clusters[: (len(clusters) + 1) // 2], clusters[(len(clusters) + 1) // 2 :]]
    for topic, members in zip((1000, 1001), halves, strict=True):
        for c in members:
            c["parent"] = topic
        doc["cluster_labels_lookup"].append(
            {
                "cluster": topic,
                "label": f"Topic {topic}",
                "description": "",
                "count": sum(c["count"] for c in members),
                "noise": False,
                "hull": [],
                "terms": [],
                "level": 1,
            }
        )
    sidecar_path.write_text(json.dumps(doc))


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


def test_topic_tree_groups_clusters_and_filters_a_topic(browser, two_datasets):
    doc = json.loads((two_datasets["root"] / "other" / "scopes" / f"{two_datasets['scope']}.json").read_text())
    topic = next(c for c in doc["cluster_labels_lookup"] if c.get("level") == 1)
    members = sorted(c["cluster"] for c in doc["cluster_labels_lookup"] if c.get("parent") == topic["cluster"])
    with viewer_server(two_datasets["root"]) as url:
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.goto(f"{url}/datasets/other/explore/{two_datasets['scope']}")
        page.wait_for_selector("[data-testid=map][data-drawn=true]")
        node = page.locator("details.topic", has_text=topic["label"])
        items = node.locator("[data-testid=cluster-item]")
        shown = items.evaluate_all("els => els.map(e => Number(e.dataset.cluster))")
        assert sorted(shown) == members
        node.get_by_role("button", name="filter").click()
        page.wait_for_function(
            "n => document.querySelector('[data-testid=table-total]').textContent.endsWith(`of ${n} rows`)",
            arg=topic["count"],
        )
        assert page.locator("[data-testid=chip][data-kind=cluster]").count() == len(members)
        page.close()
