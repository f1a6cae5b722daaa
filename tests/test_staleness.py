"""Dagster's stale status of a recipe's materializations: changed input rows and changed recipe parameters both
make them stale (a recipe is data), read through the instance as the UI's asset view reads it."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from dagster._core.definitions.data_version import (  # what the UI's stale status uses
    CachingStaleStatusResolver,
    StaleStatus,
)
from dagster._core.loader import LoadingContextForTest

from ls_pipeline.definitions import defs
from ls_pipeline.defs.assets import ingest_run_config
from ls_pipeline.defs.partitions import add_missing, dataset_recipe_key, datasets, recipes
from ls_pipeline.defs.recipe_source import RECIPE, recipe_sensor
from ls_pipeline.runs import runner
from ls_pipeline.store import DataDir

EMBEDDING = dg.AssetKey("embedding")


def stale_causes(instance: dg.DagsterInstance, key: str) -> tuple[StaleStatus, set[str]]:
    """The embedding partition's status and the assets named as the root causes."""
    resolver = CachingStaleStatusResolver(instance, defs.resolve_asset_graph(), LoadingContextForTest(instance))
    causes = resolver.get_stale_causes(EMBEDDING, key)
    roots = {(cause.children or [cause])[0].key.asset_key.to_user_string() for cause in causes}
    return resolver.get_status(EMBEDDING, key), roots


def observe_recipes(instance: dg.DagsterInstance, cursor: str | None) -> tuple[int, str | None]:
    """One tick of the recipe sensor, its observations stored as the daemon stores them."""
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=defs.resources)
    result = recipe_sensor(context)
    for event in result.asset_events:
        instance.report_runless_asset_event(event)
    return len(result.asset_events), result.cursor


def test_changed_rows_and_a_changed_recipe_make_a_materialization_stale(
    data_dir: Path, tmp_path: Path, sample_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    data, source, key = DataDir(data_dir), data_dir / "few.csv", str(dataset_recipe_key("few", "mine"))
    (data_dir / "_recipes").mkdir()
    (data_dir / "_recipes" / "mine.yaml").write_text("umap: {neighbors: 8}\n")
    ingest_job, embedding = defs.resolve_job_def("ingest_job"), defs.get_assets_def(EMBEDDING)

    def ingest(rows: int) -> None:
        sample_frame.head(rows).to_csv(source, index=False)
        config = ingest_run_config(source, "text")
        assert ingest_job.execute_in_process(run_config=config, instance=instance, partition_key="few").success

    def embed() -> None:
        done = dg.materialize([embedding], instance=instance, partition_key=key, resources=defs.resources)
        assert done.success

    with runner.open_instance(data) as instance:
        add_missing(instance, datasets, ["few"])
        add_missing(instance, recipes, ["mine"])
        ingest(40)
        embed()
        assert stale_causes(instance, key) == (StaleStatus.FRESH, set())
        assert observe_recipes(instance, None)[0] == 1  # the first tick: every recipe, at the version runs saw
        assert stale_causes(instance, key) == (StaleStatus.FRESH, set())
        ingest(40)  # the same rows again: same data version, nothing stale
        assert stale_causes(instance, key) == (StaleStatus.FRESH, set())
        ingest(30)  # other input rows
        assert stale_causes(instance, key) == (StaleStatus.STALE, {"ingest"})
        embed()
        assert stale_causes(instance, key) == (StaleStatus.FRESH, set())
        count, cursor = observe_recipes(instance, None)
        assert count == 1 and stale_causes(instance, key) == (StaleStatus.FRESH, set())
        assert observe_recipes(instance, cursor)[0] == 0  # nothing changed since the last tick
        (data_dir / "_recipes" / "mine.yaml").write_text("umap: {neighbors: 9}\n")  # edited by hand
        assert stale_causes(instance, key) == (StaleStatus.FRESH, set())  # not observed yet
        assert observe_recipes(instance, cursor)[0] == 1
        assert stale_causes(instance, key) == (StaleStatus.STALE, {RECIPE.to_user_string()})
        embed()  # the run reads the edited recipe and records its version
        assert stale_causes(instance, key) == (StaleStatus.FRESH, set())
