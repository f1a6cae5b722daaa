"""Dagster's stale status follows a dataset's exclusion list: a change marks its maps stale (root cause: the
`exclusions` source asset) and leaves its embedding fresh; an undo back to the earlier rows makes them fresh again
without a run. Per-scope curation changes nothing Dagster tracks."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from dagster._core.definitions.data_version import StaleStatus

from ls_pipeline.definitions import defs
from ls_pipeline.defs.assets import ingest_run_config
from ls_pipeline.defs.exclusions_source import EXCLUSIONS, exclusions_sensor
from ls_pipeline.steps import exclusions
from ls_pipeline.store import DataDir
from tests.staleness_support import KEY, few_and_mine, sensor_tick, stale_status

FRESH = (StaleStatus.FRESH, set())


def test_an_exclusion_change_makes_the_maps_stale_and_its_undo_fresh(
    data_dir: Path, tmp_path: Path, sample_frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, source = DataDir(data_dir), data_dir / "few.csv"
    sample_frame.head(60).to_csv(source, index=False)
    assets = [defs.get_assets_def(name) for name in ("embedding", "umap")]
    with few_and_mine(data_dir, tmp_path / "home", monkeypatch) as instance:
        ingest = defs.resolve_job_def("ingest_job")
        config = ingest_run_config(source, "text")
        assert ingest.execute_in_process(run_config=config, instance=instance, partition_key="few").success
        done = dg.materialize(assets, instance=instance, partition_key=KEY, resources=defs.resources)
        assert done.success
        count, cursor = sensor_tick(instance, exclusions_sensor, None)
        assert count == 1 and stale_status(instance, "umap") == FRESH

        exclusions.exclude(data.dataset("few"), [3, 4, 5])
        count, cursor = sensor_tick(instance, exclusions_sensor, cursor)
        assert count == 1
        assert stale_status(instance, "umap") == (StaleStatus.STALE, {EXCLUSIONS.to_user_string()})
        assert stale_status(instance, "embedding") == FRESH

        exclusions.undo(data.dataset("few"))  # back to no exclusions: the map already made is what they ask for
        count, cursor = sensor_tick(instance, exclusions_sensor, cursor)
        assert count == 1 and stale_status(instance, "umap") == FRESH
        assert sensor_tick(instance, exclusions_sensor, cursor)[0] == 0  # nothing changed since
