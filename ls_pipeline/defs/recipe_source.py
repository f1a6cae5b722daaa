"""A recipe as data Dagster tracks: an observable source asset, one partition per recipe, whose data version is a
hash of the recipe's parameters. Every dataset x recipe stage depends on it, so Dagster's own staleness marks a
recipe's materializations stale when its parameters change (a hand-edited YAML), as it does for a new code version
and, through ingest's data version (the rows' fingerprint), for changed input rows."""

# No `from __future__ import annotations`: Dagster reads resource types from live annotations.

import hashlib
import json

import dagster as dg

from ls_pipeline.defs.layout import RECIPE_SOURCE, Layout
from ls_pipeline.defs.observed_source import changed_observations, observable_source, versioned_observation
from ls_pipeline.defs.partitions import recipes
from ls_pipeline.defs.resources import DataDirResource
from ls_pipeline.errors import UserError
from ls_pipeline.recipe import Recipe, load_recipe, recipe_values

RECIPE = dg.AssetKey(RECIPE_SOURCE)  # the project's own code location's (no key prefix)


def recipe_version(recipe: Recipe) -> str:
    """The parameters' hash: the description and the name are not data."""
    text = json.dumps(recipe_values(recipe), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def observation(recipe: Recipe, key: dg.AssetKey = RECIPE) -> dg.AssetObservation:
    """What a run that uses `recipe` records first, so its materializations' provenance names this version."""
    return versioned_observation(key, recipe.name, recipe_version(recipe))


def recipe_source_asset(layout: Layout) -> dg.SourceAsset:
    """The recipes of `layout` as an observable source asset, one partition per recipe."""

    def version(context: dg.AssetExecutionContext) -> str:
        try:
            return recipe_version(load_recipe(context.partition_key, layout.data(context)))
        except UserError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc

    return observable_source(layout, RECIPE_SOURCE, layout.recipes, "A named recipe's parameters (its YAML)", version)


# A sensor, not an automation condition: a recipe's YAML is edited by hand outside Dagster, and only reading it says so.
@dg.sensor(minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def recipe_sensor(context: dg.SensorEvaluationContext, data_dir: DataDirResource) -> dg.SensorResult:
    """Observes every registered recipe whose parameters changed since the last tick (a YAML edited by hand), so
    its materializations show stale without a run; a recipe that does not parse is left to its run to report."""
    data, current = data_dir.data(), {}
    for name in context.instance.get_dynamic_partitions(recipes.name):
        try:
            current[name] = recipe_version(load_recipe(name, data))
        except UserError:
            continue
    return changed_observations(context, current, lambda name: observation(load_recipe(name, data)))
