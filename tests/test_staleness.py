"""Dagster's stale status of a recipe's materializations: changed input rows and changed recipe parameters both
make them stale (a recipe is data), read through the instance as the UI's asset view reads it."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from dagster._core.definitions.data_version import StaleStatus

from ls_pipeline.definitions import defs
from ls_pipeline.defs.assets import ingest_run_config
from ls_pipeline.defs.recipe_source import RECIPE, recipe_sensor
from tests.staleness_support import KEY, few_and_mine, sensor_tick, stale_status

FRESH = (StaleStatus.FRESH, set())


def test_changed_rows_and_a_changed_recipe_make_a_materialization_stale(
    data_dir: Path, tmp_path: Path, sample_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = data_dir / "few.csv"
    ingest_job, embedding = defs.resolve_job_def("ingest_job"), defs.get_assets_def("embedding")

    def ingest(rows: int) -> None:
        sample_frame.head(rows).to_csv(source, index=False)
        config = ingest_run_config(source, "text")
        assert ingest_job.execute_in_process(run_config=config, instance=instance, partition_key="few").success

    def embed() -> None:
        done = dg.materialize([embedding], instance=instance, partition_key=KEY, resources=defs.resources)
        assert done.success

    with few_and_mine(data_dir, tmp_path / "home", monkeypatch) as instance:
        ingest(40)
        embed()
        assert stale_status(instance, "embedding") == FRESH
        assert sensor_tick(instance, recipe_sensor, None)[0] == 1  # every recipe, at the version runs saw
        assert stale_status(instance, "embedding") == FRESH
        ingest(40)  # the same rows again: same data version, nothing stale
        assert stale_status(instance, "embedding") == FRESH
        ingest(30)  # other input rows
        assert stale_status(instance, "embedding") == (StaleStatus.STALE, {"ingest"})
        embed()
        assert stale_status(instance, "embedding") == FRESH
        count, cursor = sensor_tick(instance, recipe_sensor, None)
        assert count == 1 and stale_status(instance, "embedding") == FRESH
        assert sensor_tick(instance, recipe_sensor, cursor)[0] == 0  # nothing changed since the last tick
        (data_dir / "_recipes" / "mine.yaml").write_text("umap: {neighbors: 9}\n")  # edited by hand
        assert stale_status(instance, "embedding") == FRESH  # not observed yet
        assert sensor_tick(instance, recipe_sensor, cursor)[0] == 1
        assert stale_status(instance, "embedding") == (StaleStatus.STALE, {RECIPE.to_user_string()})
        embed()  # the run reads the edited recipe and records its version
        assert stale_status(instance, "embedding") == FRESH
