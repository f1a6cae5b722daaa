"""Dagster's stale status follows a dataset's exclusion list: a change marks its maps stale (root cause: the
`exclusions` source asset) and leaves its embedding fresh; an undo back to the earlier rows makes them fresh again
without a run. Per-scope curation changes nothing Dagster tracks."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.loader import LoadingContextForTest

from ls_pipeline.definitions import defs
from ls_pipeline.defs.assets import ingest_run_config
from ls_pipeline.defs.exclusions_source import EXCLUSIONS, exclusions_sensor
from ls_pipeline.defs.partitions import add_missing, dataset_recipe_key, datasets, recipes
from ls_pipeline.runs import runner
from ls_pipeline.steps import exclusions
from ls_pipeline.store import DataDir


def status(instance: dg.DagsterInstance, asset: str, key: str) -> tuple[StaleStatus, set[str]]:
    resolver = CachingStaleStatusResolver(instance, defs.resolve_asset_graph(), LoadingContextForTest(instance))
    causes = resolver.get_stale_causes(dg.AssetKey(asset), key)
    roots = {(cause.children or [cause])[0].key.asset_key.to_user_string() for cause in causes}
    return resolver.get_status(dg.AssetKey(asset), key), roots


def tick(instance: dg.DagsterInstance, cursor: str | None) -> tuple[int, str | None]:
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=defs.resources)
    result = exclusions_sensor(context)
    for event in result.asset_events:
        instance.report_runless_asset_event(event)
    return len(result.asset_events), result.cursor


def test_an_exclusion_change_makes_the_maps_stale_and_its_undo_fresh(
    data_dir: Path, tmp_path: Path, sample_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    data, source, key = DataDir(data_dir), data_dir / "few.csv", str(dataset_recipe_key("few", "mine"))
    (data_dir / "_recipes").mkdir()
    (data_dir / "_recipes" / "mine.yaml").write_text("umap: {neighbors: 8}\n")
    sample_frame.head(60).to_csv(source, index=False)
    assets = [defs.get_assets_def(name) for name in ("embedding", "umap")]
    with runner.open_instance(data) as instance:
        add_missing(instance, datasets, ["few"])
        add_missing(instance, recipes, ["mine"])
        ingest = defs.resolve_job_def("ingest_job")
        config = ingest_run_config(source, "text")
        assert ingest.execute_in_process(run_config=config, instance=instance, partition_key="few").success
        done = dg.materialize(assets, instance=instance, partition_key=key, resources=defs.resources)
        assert done.success
        count, cursor = tick(instance, None)
        assert count == 1 and status(instance, "umap", key) == (StaleStatus.FRESH, set())

        exclusions.exclude(data.dataset("few"), [3, 4, 5])
        count, cursor = tick(instance, cursor)
        assert count == 1
        assert status(instance, "umap", key) == (StaleStatus.STALE, {EXCLUSIONS.to_user_string()})
        assert status(instance, "embedding", key) == (StaleStatus.FRESH, set())

        exclusions.undo(data.dataset("few"))  # back to no exclusions: the map already made is what they ask for
        count, cursor = tick(instance, cursor)
        assert count == 1 and status(instance, "umap", key) == (StaleStatus.FRESH, set())
        assert tick(instance, cursor)[0] == 0  # nothing changed since
