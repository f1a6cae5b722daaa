"""A refresh through ls-run's Dagster runs: the second run of a grown dataset refits registered onto the first map,
and the scope's materialization summarizes what changed."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from ls_pipeline.defs.partitions import dataset_recipe_key
from ls_pipeline.runs import runner
from ls_pipeline.store import DataDir
from tests.conftest import DEMO, SMALL_RECIPE

SEEN = ("python", "perl", "haskell", "javascript", "rust", "golang")
UNSEEN = ("games", "science")


@pytest.mark.numeric
def test_ls_run_of_a_grown_dataset_refits_registered_and_reports_the_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, source = tmp_path / "data", tmp_path / "rows.parquet"
    (root / "_recipes").mkdir(parents=True)
    (root / "_recipes" / "small.yaml").write_text(SMALL_RECIPE)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LATENT_SCOPE_DATA", str(root))
    demo = pd.read_parquet(DEMO)
    pick = lambda sections: pd.concat([demo[demo["section"] == s].head(30) for s in sections])  # noqa: E731
    data = DataDir(root)
    pick(SEEN).to_parquet(source, index=False)
    first = runner.run_in_dagster(data, "grown", "small", source=source, text_column="text")
    pd.concat([pick(SEEN), pick(UNSEEN)]).to_parquet(source, index=False)
    second = runner.run_in_dagster(data, "grown", "small", source=source, text_column="text")

    ds = data.dataset("grown")
    umap = ds.sidecar("umap", second["umap"])
    assert umap["aligned_to"] == ds.sidecar("cluster", first["cluster"]).umap_id and umap["refit_rows"] == 60
    with runner.open_instance(data) as instance:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey("scope"), asset_partitions=[str(dataset_recipe_key("grown", "small"))]
            ),
            limit=1,
        ).records
        metadata = records[0].asset_materialization.metadata
    assert metadata["changed_from"].value == first["scope"] and metadata["rows_added"].value == 60
    assert metadata["topics_new"].value >= 1 and "| new |" in metadata["changes"].value
