"""Living maps, part two, on real labelled rows: a map of six Debian sections is refreshed with two sections it
never saw. The refresh refits (a quarter of the rows are new), registered onto the earlier map; its scope says
which topics are new (made mostly of the new rows), keeps the earlier clusters' colours, and a label a curator gave
survives on the cluster that holds that topic's rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ls_pipeline import steps
from ls_pipeline.recipe import parse_recipe
from ls_pipeline.stages import align
from ls_pipeline.stages import umap as umap_stage
from ls_pipeline.stages.ingest import IngestParams
from ls_pipeline.steps import curate
from ls_pipeline.store import DataDir
from tests.conftest import DEMO, SMALL_RECIPE

SEEN = ("python", "perl", "haskell", "javascript", "rust", "golang")
UNSEEN = ("games", "science")
PER_SECTION = 40


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    demo = pd.read_parquet(DEMO)
    pick = lambda sections: pd.concat([demo[demo["section"] == s].head(PER_SECTION) for s in sections])  # noqa: E731
    first, added = pick(SEEN), pick(UNSEEN)
    data = DataDir(tmp_path_factory.mktemp("refresh") / "data")
    recipe = parse_recipe("small", SMALL_RECIPE)
    steps.ingest(data, "d", first[["package", "section", "text"]], IngestParams(text_column="text"))
    ds = data.dataset("d")
    before = steps.run_recipe(ds, recipe)
    old_scope = before["scope"].sidecar
    # A curator names every topic; each version of the line is a new scope, the last one is what the refresh reads.
    curated = old_scope.id
    for cluster in old_scope.cluster_labels_lookup:
        if not cluster.get("noise"):
            edit = {"op": "rename", "cluster": cluster["cluster"], "label": f"Curated {cluster['cluster']}"}
            curated = curate.edit(ds, curated, edit, 1000).scope.id
    whole = pd.concat([first, added])[["package", "section", "text"]]
    steps.ingest(data, "d", whole, IngestParams(text_column="text"), upsert_key="package")
    after = steps.run_recipe(ds, recipe)
    return {"ds": ds, "before": before, "after": after, "curated": curated, "sections": whole["section"].to_numpy()}


def _scope_rows(ds: object, scope_id: str) -> pd.DataFrame:
    return curate.read_scope_rows(ds, scope_id).sort_values("ls_index").reset_index(drop=True)  # type: ignore[arg-type]


@pytest.mark.numeric
def test_the_refresh_refits_registered_onto_the_earlier_map(refreshed: dict[str, object]) -> None:
    ds, before, after = refreshed["ds"], refreshed["before"], refreshed["after"]
    umap = after["umap"].sidecar  # type: ignore[index]
    shown = before["cluster"].sidecar.umap_id  # type: ignore[index]
    assert umap["aligned_to"] == shown and umap["shared_rows"] == len(SEEN) * PER_SECTION
    old = steps.read_umap(ds, shown)  # type: ignore[arg-type]
    new = steps.read_umap(ds, after["umap"].id)  # type: ignore[arg-type,index]
    shared = np.arange(len(old))
    aligned = float(np.median(align.displacement(new[shared], old)))
    vectors = steps.read_embeddings(ds, umap.embedding_id)  # type: ignore[arg-type]
    unaligned = umap_stage.project(vectors, umap_stage.UmapParams(neighbors=10, min_dist=0.1, seed=7))
    assert aligned <= 0.15 and aligned < float(np.median(align.displacement(unaligned[shared], old)))
    assert umap["median_shift"] == pytest.approx(aligned, abs=1e-3)
    assert np.abs(new).max() <= 1.0 + 1e-6


@pytest.mark.numeric
def test_the_refreshed_scope_names_the_new_topics_and_keeps_colours_and_curated_labels(
    refreshed: dict[str, object],
) -> None:
    ds, after, curated = refreshed["ds"], refreshed["after"], str(refreshed["curated"])
    scope = after["scope"].sidecar  # type: ignore[index]
    report = scope["changes"]
    assert report["from"] == curated and report["rows_added"] == len(UNSEEN) * PER_SECTION
    assert report["rows_removed"] == 0
    rows = _scope_rows(ds, scope.id)
    sections = refreshed["sections"]
    new_topics = [t for t in report["topics"] if t["status"] == "new"]
    assert all(t["before"] == 0 for t in new_topics)
    # New topics made mostly of rows the map did not have (others may be an old topic split), holding most of them.
    is_new_row = rows.index.to_numpy() >= len(SEEN) * PER_SECTION
    of_new_rows = [t for t in new_topics if is_new_row[rows["cluster"] == t["cluster"]].mean() > 0.5]
    assert of_new_rows
    in_them = rows["cluster"].isin([t["cluster"] for t in of_new_rows]).to_numpy()
    assert in_them[np.isin(sections, UNSEEN)].mean() > 0.5

    lookup = {c["cluster"]: c for c in scope.cluster_labels_lookup}
    matches = scope["identity"]["matches"]
    strong = [m for m in matches if m["strong"]]
    assert len(strong) >= len(SEEN) // 2
    old_rows = _scope_rows(ds, curated)
    for m in strong:  # the same topic keeps its colour slot and the curator's label
        assert lookup[m["cluster"]]["colour"] == m["from"]
        assert lookup[m["cluster"]]["label"] == f"Curated {m['from']}"
        shared = old_rows["cluster"].to_numpy() == m["from"]
        assert (rows["cluster"].to_numpy()[: len(old_rows)][shared] == m["cluster"]).mean() > 0.5
    inherited = {m["from"] for m in strong}
    assert not {lookup[t["cluster"]]["colour"] for t in new_topics} & inherited
    assert rows["label"].str.startswith("Curated").sum() > 0  # the rows carry the labels too


def test_a_rerun_of_the_refreshed_recipe_reuses_everything(refreshed: dict[str, object]) -> None:
    ds, after = refreshed["ds"], refreshed["after"]
    again = steps.run_recipe(ds, parse_recipe("small", SMALL_RECIPE))  # type: ignore[arg-type]
    assert all(a.reused for a in again.values())
    assert again["scope"].id == after["scope"].id  # type: ignore[index]


def test_the_changes_route_answers_the_report(refreshed: dict[str, object]) -> None:
    from tests.viewer_support import in_process

    ds, before, after = refreshed["ds"], refreshed["before"], refreshed["after"]
    base = "/api/datasets/d/scopes"
    with in_process(ds.path.parent) as http:  # type: ignore[attr-defined]
        answer = http.get(f"{base}/{after['scope'].id}/changes")  # type: ignore[index]
        assert answer.status_code == 200
        body = answer.json()
        assert body == {k: after["scope"].sidecar["changes"][k] for k in body}  # type: ignore[index]
        assert set(body) == {"from", "rows_added", "rows_removed", "topics"}
        assert {t["status"] for t in body["topics"]} <= {"new", "grown", "shrunk", "vanished", "same"}
        first = http.get(f"{base}/{before['scope'].id}/changes")  # type: ignore[index]
        assert first.json() == {"from": None, "rows_added": 0, "rows_removed": 0, "topics": []}
        assert http.get(f"{base}/scopes-999/changes").status_code == 404


def test_the_explorer_shows_what_changed_and_a_topic_keeps_its_colour(refreshed: dict[str, object]) -> None:
    from tests.browser import ensure_frontend_built, viewer_server, watched_page

    ds, after, curated = refreshed["ds"], refreshed["after"], str(refreshed["curated"])
    scope = after["scope"].sidecar  # type: ignore[index]
    changed = [t for t in scope["changes"]["topics"] if t["status"] != "same"]
    strong = next(m for m in scope["identity"]["matches"] if m["strong"])
    ensure_frontend_built()
    with viewer_server(ds.path.parent) as server, watched_page() as page:  # type: ignore[attr-defined]

        def chip_colour(scope_id: str, cluster: int) -> str:
            page.goto(f"{server}/datasets/d/explore/{scope_id}?cluster={cluster}")
            page.wait_for_selector("[data-testid=map][data-drawn=true]", timeout=30_000)
            swatch = page.locator("[data-testid=chip][data-kind=cluster] .swatch").first
            return str(swatch.evaluate("e => getComputedStyle(e).backgroundColor"))

        assert chip_colour(curated, strong["from"]) == chip_colour(scope.id, strong["cluster"])
        page.goto(f"{server}/datasets/d/explore/{scope.id}")
        page.wait_for_selector("[data-testid=map][data-drawn=true]", timeout=30_000)
        panel = page.locator("[data-testid=changes]")
        assert f"what changed since {curated}" in panel.locator("h3").inner_text().lower()
        assert panel.locator("[data-testid=change]").count() == len(changed)
        on_map = next(t for t in changed if t["status"] != "vanished")
        panel.locator("[data-testid=change] button", has_text=on_map["label"]).first.click()
        page.wait_for_selector("[data-testid=chip][data-kind=cluster]", timeout=10_000)
        assert f"cluster={on_map['cluster']}" in page.url
