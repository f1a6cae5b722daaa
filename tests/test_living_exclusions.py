"""Living maps, part one: near-duplicate groups (checked against all pairs) and a dataset's exclusion list, which
the next UMAP, clustering, labels and scope honour, and whose undo brings the earlier results back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.sparse.csgraph import connected_components

from ls_pipeline import steps
from ls_pipeline.errors import NotFound, UserError
from ls_pipeline.recipe import parse_recipe
from ls_pipeline.stages.duplicates import ALONE, DuplicatesParams
from ls_pipeline.stages.ingest import IngestParams
from ls_pipeline.steps import curate, exclusions
from ls_pipeline.steps.duplicates import duplicates, read_groups
from ls_pipeline.steps.label import read_labels
from ls_pipeline.store import DataDir, tags
from tests.conftest import SMALL_RECIPE

TWINS = 12  # rows repeated with a small change: near-duplicates of their originals


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, sample_frame: pd.DataFrame) -> tuple[DataDir, dict[str, str]]:
    frame = sample_frame[["text", "section"]]
    twins = frame.head(TWINS).assign(text=lambda f: f["text"] + " (repost)")
    data = DataDir(tmp_path_factory.mktemp("living") / "data")
    steps.ingest(data, "d", pd.concat([frame, twins], ignore_index=True), IngestParams(text_column="text"))
    artifacts = steps.run_recipe(data.dataset("d"), parse_recipe("small", SMALL_RECIPE))
    return data, {k: a.id for k, a in artifacts.items()}


def _partition(groups: np.ndarray) -> set[frozenset[int]]:
    return {frozenset(np.flatnonzero(groups == g).tolist()) for g in np.unique(groups) if g != ALONE}


@pytest.mark.parametrize("threshold", [0.9, 0.97])
def test_near_duplicate_groups_match_all_pairs(run: tuple[DataDir, dict[str, str]], threshold: float) -> None:
    data, ids = run
    ds = data.dataset("d")
    made = duplicates(ds, ids["embedding"], DuplicatesParams(threshold=threshold))
    groups = read_groups(ds, made.id)
    assert made.sidecar.threshold == threshold and made.sidecar.groups == len(_partition(groups))

    vectors = steps.read_embeddings(ds, ids["embedding"]).astype(np.float64)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    close = unit @ unit.T >= threshold - 1e-6
    np.fill_diagonal(close, False)
    _, component = connected_components(close, directed=False)
    sizes = np.bincount(component)
    brute = np.where(sizes[component] > 1, component, ALONE)
    assert _partition(groups) == _partition(brute)
    assert len(_partition(groups)) >= TWINS // 2  # most reposts are found beside their originals
    assert duplicates(ds, ids["embedding"], DuplicatesParams(threshold=threshold)).reused


def test_excluded_rows_are_not_fitted_clustered_or_labelled_and_undo_brings_the_map_back(
    run: tuple[DataDir, dict[str, str]],
) -> None:
    data, ids = run
    ds = data.dataset("d")
    rows = int(ds.meta()["length"])
    recipe = parse_recipe("small", SMALL_RECIPE)
    made = duplicates(ds, ids["embedding"], DuplicatesParams(threshold=0.9))
    by_duplicates = exclusions.exclude_duplicates(ds, made.id)
    extra = made.sidecar["extra_rows"]
    assert by_duplicates.sidecar.excluded == extra > 0 and by_duplicates.sidecar.source == "duplicates"
    tags.create(ds, "junk")
    tags.change(ds, "junk", add=[1, 2, 3])
    by_tag = exclusions.exclude_tag(ds, "junk")
    excluded = exclusions.read_excluded(ds)
    assert by_tag.sidecar.edited_from == by_duplicates.id and set(excluded) >= {1, 2, 3}

    after = steps.run_recipe(ds, recipe)
    assert after["umap"].id != ids["umap"] and after["umap"].sidecar["fit_rows"] == rows - len(excluded)
    assert after["umap"].sidecar["exclusions_id"] == by_tag.id
    clusters = steps.read_clusters(ds, after["cluster"].id)
    assert (clusters["raw_cluster"].to_numpy()[excluded] == -1).all()
    labelled = read_labels(ds, after["labels"].id)
    in_clusters = {i for members in labelled.loc[~labelled["noise"], "indices"] for i in members}
    assert not in_clusters & set(excluded.tolist())
    scope_rows = pd.read_parquet(ds.file("scope", after["scope"].id, ".parquet"))
    assert len(scope_rows) == rows and scope_rows["deleted"].to_numpy().nonzero()[0].tolist() == excluded.tolist()
    assert scope_rows[["x", "y"]].abs().max().max() <= 1.0 + 1e-6  # excluded rows are placed on the map

    restored = exclusions.restore(ds, [1])
    assert 1 not in exclusions.read_excluded(ds) and restored.sidecar.excluded == len(excluded) - 1
    for _ in range(3):  # back past the restore, the tag and the duplicates, to the empty list
        exclusions.undo(ds)
    assert len(exclusions.read_excluded(ds)) == 0
    with pytest.raises(NotFound, match="no exclusion change to undo"):
        exclusions.undo(ds)
    again = steps.run_recipe(ds, recipe)
    assert again["umap"].reused and again["umap"].id == ids["umap"] and again["cluster"].id == ids["cluster"]
    # the scope of the earlier clustering again, now beside the one with exclusions: its changes say so
    assert again["scope"].sidecar["changes"]["from"] == after["scope"].id
    assert len(ds.ids("exclusions")) == 6  # every change a version, none overwritten


def test_bad_exclusions_say_what_is_wrong(run: tuple[DataDir, dict[str, str]]) -> None:
    data, _ = run
    ds = data.dataset("d")
    before = ds.ids("exclusions")
    with pytest.raises(UserError, match="is not a row of"):
        exclusions.exclude(ds, [10**6])
    with pytest.raises(NotFound, match="has no tag 'nope'"):
        exclusions.exclude_tag(ds, "nope")
    assert ds.ids("exclusions") == before


def test_ls_exclude_and_ls_duplicates(
    run: tuple[DataDir, dict[str, str]], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ls_pipeline.cli import ls_duplicates as duplicates_main
    from ls_pipeline.cli import ls_exclude as exclude_main

    data, ids = run
    monkeypatch.setenv("LATENT_SCOPE_DATA", str(data.root))
    before = data.dataset("d").ids("exclusions")
    assert exclude_main(["d", "--rows", "4,x"]) == 2
    assert exclude_main(["d", "--rows", "4", "--undo"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "ls_index integers" in err[0] and "exactly one of" in err[1]
    assert data.dataset("d").ids("exclusions") == before
    assert duplicates_main(["d", ids["embedding"], "--threshold", "0.93"]) == 0
    made = capsys.readouterr().out.strip()
    grouped = np.flatnonzero(read_groups(data.dataset("d"), made) != ALONE).tolist()
    assert grouped and tags.read(data.dataset("d"), "near-duplicates") == grouped  # for the explorer's filters
    from tests.viewer_support import in_process

    with in_process(data.root) as http:  # a filter and a facet of the explorer
        scope = f"/api/datasets/d/scopes/{ids['scope']}"
        assert http.get(f"{scope}/rows/indices?tag=near-duplicates").json()["indices"] == grouped
        facet = http.get(f"{scope}/facets?column=ls_tags").json()["facets"][0]
        assert {"value": "near-duplicates", "count": len(grouped)} in facet["buckets"]
    assert exclude_main(["d", "--duplicates", made]) == 0
    version = capsys.readouterr().out.strip()
    assert data.dataset("d").sidecar("exclusions", version).source == "duplicates"
    assert exclude_main(["d", "--undo"]) == 0 and data.dataset("d").ids("exclusions")[-1] != version


def test_the_explorer_changes_the_exclusion_list_and_undoes_it(run: tuple[DataDir, dict[str, str]]) -> None:
    from tests.viewer_support import studio_client

    data, ids = run
    base = "/api/datasets/d/exclusions"
    with studio_client(data.root) as http:
        start = http.get(base).json()
        made = http.post(base, json={"rows": [7, 8], "source": "filter"})
        assert made.status_code == 201 and made.json()["source"] == "filter"
        assert set(made.json()["rows"]) == set(start["rows"]) | {7, 8} and made.json()["can_undo"]
        assert data.dataset("d").sidecar("exclusions", made.json()["version"]).source == "filter"
        for bad in ({"rows": []}, {"rows": [1], "tag": "x"}, {"rows": [10**9]}, {"duplicates": 1}, ["rows"]):
            refused = http.post(base, json=bad)
            assert refused.status_code == 400 and refused.json()["error"], bad
        assert http.get(base).json() == {k: made.json()[k] for k in ("version", "excluded", "rows", "can_undo")}
        undone = http.post(f"{base}/undo")
        assert undone.status_code == 201 and undone.json()["rows"] == start["rows"]
        curated = curate.edit(data.dataset("d"), ids["scope"], {"op": "remove", "rows": [20, 21]}, 100).scope.id
        from_removed = http.post(base, json={"removed_in": curated}).json()
        assert from_removed["source"] == "removed" and {20, 21} <= set(from_removed["rows"])
        nothing_removed = http.post(base, json={"removed_in": ids["scope"]})
        assert nothing_removed.status_code == 400 and "no removed rows" in nothing_removed.json()["error"]


def test_the_explore_page_excludes_the_filtered_rows_and_undoes_it(run: tuple[DataDir, dict[str, str]]) -> None:
    from tests.browser import ensure_frontend_built, viewer_server, watched_page

    data, ids = run
    ds = data.dataset("d")
    rows = pd.read_parquet(ds.file("scope", ids["scope"], ".parquet"))
    cluster0 = set(rows.loc[rows["cluster"] == 0, "ls_index"].tolist())
    before = set(exclusions.read_excluded(ds).tolist())
    ensure_frontend_built()
    with viewer_server(data.root) as server, watched_page() as page:
        page.goto(f"{server}/datasets/d/explore/{ids['scope']}?cluster=0")
        page.wait_for_selector("[data-testid=map][data-drawn=true]", timeout=30_000)
        page.wait_for_selector("[data-testid=rows] tbody tr", timeout=30_000)
        status = page.locator("[data-testid=exclusions-status]")
        page.locator("[data-testid=exclude-selection]").click()
        expected = f"{len(before | cluster0):,} rows excluded"
        page.wait_for_function(f"s => document.querySelector(s).textContent.startsWith('{expected}')",
                               arg="[data-testid=exclusions-status]", timeout=10_000)  # fmt: skip
        made = exclusions.current(ds)
        assert made is not None and made.source == "filter"
        assert set(exclusions.read_excluded(ds).tolist()) == before | cluster0
        page.locator("[data-testid=exclude-undo]").click()
        page.wait_for_function(f"s => document.querySelector(s).textContent.startsWith('{len(before):,} rows')",
                               arg="[data-testid=exclusions-status]", timeout=10_000)  # fmt: skip
        assert set(exclusions.read_excluded(ds).tolist()) == before and "excluded" in status.inner_text()
