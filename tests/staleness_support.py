"""What the staleness tests share: Dagster's stale status as the UI's asset view reads it, one sensor tick stored as
the daemon stores it, and an instance with one dataset ('few') and one recipe ('mine') registered."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster._core.definitions.data_version import (  # what the UI's stale status uses
    CachingStaleStatusResolver,
    StaleStatus,
)
from dagster._core.loader import LoadingContextForTest

from ls_pipeline.definitions import defs
from ls_pipeline.defs.partitions import add_missing, dataset_recipe_key, datasets, recipes
from ls_pipeline.runs import runner
from ls_pipeline.store import DataDir

KEY = str(dataset_recipe_key("few", "mine"))


def stale_status(instance: dg.DagsterInstance, asset: str, key: str = KEY) -> tuple[StaleStatus, set[str]]:
    """The partition's status and the assets named as the root causes."""
    resolver = CachingStaleStatusResolver(instance, defs.resolve_asset_graph(), LoadingContextForTest(instance))
    causes = resolver.get_stale_causes(dg.AssetKey(asset), key)
    roots = {(cause.children or [cause])[0].key.asset_key.to_user_string() for cause in causes}
    return resolver.get_status(dg.AssetKey(asset), key), roots


def sensor_tick(
    instance: dg.DagsterInstance, sensor: Callable[..., dg.SensorResult], cursor: str | None
) -> tuple[int, str | None]:
    """One tick of `sensor`, its observations stored as the daemon stores them: (how many, the new cursor)."""
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=defs.resources)
    result = sensor(context)
    for event in result.asset_events:
        instance.report_runless_asset_event(event)
    return len(result.asset_events), result.cursor


@contextmanager
def few_and_mine(data_dir: Path, home: Path, monkeypatch) -> Iterator[dg.DagsterInstance]:
    """The instance of `data_dir` (DAGSTER_HOME `home`) with dataset 'few' and recipe 'mine' (neighbours 8)."""
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    (data_dir / "_recipes").mkdir()
    (data_dir / "_recipes" / "mine.yaml").write_text("umap: {neighbors: 8}\n")
    with runner.open_instance(DataDir(data_dir)) as instance:
        add_missing(instance, datasets, ["few"])
        add_missing(instance, recipes, ["mine"])
        yield instance
