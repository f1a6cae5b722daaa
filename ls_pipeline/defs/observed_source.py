"""What the recipe and the exclusion list share as data Dagster tracks: an observable source asset, one partition
per recipe or dataset, whose data version is a hash of what it holds; the observation a run records first; and a
sensor that observes every partition whose version changed since its last tick."""

# No `from __future__ import annotations`: Dagster reads resource types from live annotations.

import json
import warnings
from collections.abc import Callable, Mapping

import dagster as dg

from ls_pipeline.defs.layout import Layout

# The tag an observation's data version is read from (Dagster sets it itself only for an observable source's own
# observe function; dagster exports no public name for it).
DATA_VERSION_TAG = "dagster/data_version"


def versioned_observation(key: dg.AssetKey, partition: str, version: str, **metadata: str) -> dg.AssetObservation:
    """What a run records first, so its materializations' provenance names this version."""
    return dg.AssetObservation(
        asset_key=key, partition=partition, tags={DATA_VERSION_TAG: version}, metadata={"version": version, **metadata}
    )


def observable_source(
    layout: Layout,
    name: str,
    partitions_def: dg.PartitionsDefinition,
    description: str,
    version: Callable[[dg.AssetExecutionContext], str],
) -> dg.SourceAsset:
    """An observable source asset of `layout` whose data version for a partition is `version(context)`."""
    with warnings.catch_warnings():
        # observable_source_asset is beta: Dagster would print a BetaWarning to every ls-run and ls-* user.
        warnings.simplefilter("ignore", dg.BetaWarning)

        @dg.observable_source_asset(
            key=layout.key(name),
            partitions_def=partitions_def,
            group_name=layout.group,
            description=description,
            required_resource_keys=layout.resource_keys(),
        )
        def source(context: dg.AssetExecutionContext) -> dg.DataVersion:
            return dg.DataVersion(version(context))

    return source


def changed_versions(known: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """Partitions whose version is new since `known` (the sensor's cursor), in name order."""
    return sorted(name for name, version in current.items() if known.get(name) != version)


def changed_observations(
    context: dg.SensorEvaluationContext, current: dict[str, str], observe: Callable[[str], dg.AssetObservation]
) -> dg.SensorResult:
    """A sensor's result: an observation of each partition whose version in `current` is new since the last tick."""
    known = json.loads(context.cursor) if context.cursor else {}
    events = [observe(name) for name in changed_versions(known, current)]
    return dg.SensorResult(asset_events=events, cursor=json.dumps(current, sort_keys=True))
