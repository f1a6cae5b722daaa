"""Sweeps: a grid of parameter values launched from the Dagster UI (the sweep_job's launchpad) as named recipes and
one backfill of the recipe assets over dataset x each recipe. Every recipe is saved before the backfill starts;
shared stages are found by fingerprint, so the grid computes one embedding and one kNN graph per neighbors value.
"""

# No `from __future__ import annotations`: Dagster reads config types from live annotations.

import itertools
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
from pydantic import Field, create_model

from ls_pipeline.defs.layout import RECIPE_STAGES
from ls_pipeline.defs.partitions import add_missing, dataset_recipe_key, datasets, recipes
from ls_pipeline.defs.recipe_config import resolve_recipe
from ls_pipeline.defs.resources import DataDirResource
from ls_pipeline.errors import UserError
from ls_pipeline.params import field_named, help_of, hints
from ls_pipeline.recipe import SECTIONS, Recipe, load_recipe, recipe_values
from ls_pipeline.store.datadir import check_name

# The parameters a grid may vary (section, field); each one's type and help come from its params dataclass.
GRID = (("umap", "neighbors"), ("umap", "min_dist"), ("cluster", "min_cluster_size"), ("cluster", "min_samples"))
MAX_RECIPES = 64  # a grid past this is most likely a typo (a range where a list was meant)


def _grid_field(section: str, name: str) -> tuple[Any, Any]:
    cls = SECTIONS[section]
    return list[hints(cls)[name]], Field([], description=f"{section}.{name} values: {help_of(field_named(cls, name))}")


SweepConfig = create_model(  # type: ignore[call-overload]
    "SweepConfig",
    __base__=dg.Config,
    __doc__="A grid over a base recipe: one named recipe per combination of the values given.",
    dataset=(str, Field(description="the dataset to sweep (ingested already)")),
    name=(str, Field(description="the grid's name: recipes are named NAME-neighbors10-min_dist0.5 and so on")),
    base=(str, Field("default", description="the recipe whose other parameters every grid recipe keeps")),
    **{f"{section}_{name}": _grid_field(section, name) for section, name in GRID},
)


def grid_values(config: Any) -> dict[tuple[str, str], list[Any]]:
    return {(s, n): list(getattr(config, f"{s}_{n}")) for s, n in GRID if getattr(config, f"{s}_{n}")}


def grid_recipes(name: str, grid: Mapping[tuple[str, str], Sequence[Any]]) -> list[tuple[str, dict[str, dict]]]:
    """(recipe name, section -> field -> value) for every combination of the grid's values."""
    if not grid:
        raise UserError("a sweep needs at least one list of values, e.g. umap_neighbors: [10, 30]")
    keys = list(grid)
    combos = list(itertools.product(*(grid[k] for k in keys)))
    if len(combos) > MAX_RECIPES:
        raise UserError(f"a sweep of {len(combos)} recipes is more than {MAX_RECIPES}; give fewer values")
    found = []
    for combo in combos:
        given: dict[str, dict] = {}
        for (section, field), value in zip(keys, combo, strict=True):
            given.setdefault(section, {})[field] = value
        label = "-".join(f"{field}{value}" for (_, field), value in zip(keys, combo, strict=True))
        found.append((check_name(f"{name}-{label}", "recipe name"), given))
    return found


def save_grid(data: Any, base: Recipe, named: Sequence[tuple[str, dict[str, dict]]]) -> list[Recipe]:
    """Each grid recipe over `base`, saved (or, already saved, checked to be the same)."""
    values = recipe_values(base)
    return [resolve_recipe(data, name, _over(values, given)) for name, given in named]


def _over(values: Mapping[str, Mapping[str, Any]], given: Mapping[str, Mapping[str, Any]]) -> dict[str, dict]:
    return {key: {**values[key], **given.get(key, {})} for key in values}


def submit_backfill(context: dg.OpExecutionContext, keys: Sequence[str], title: str) -> str:
    """One asset backfill of the recipe assets over `keys`; the daemon runs it (one run per partition). The asset
    graph is the running op's own code location's, so this module never imports the code location."""
    from dagster._core.execution.backfill import PartitionBackfill  # the API the UI's backfill button calls

    instance = context.instance
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id=uuid.uuid4().hex[:8],
        asset_graph=context.repository_def.asset_graph,
        partition_names=list(keys),
        asset_selection=[dg.AssetKey(name) for name in RECIPE_STAGES],
        backfill_timestamp=time.time(),
        tags={},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=title,
        description=None,
        run_config=None,
    )
    instance.add_backfill(backfill)
    return backfill.backfill_id


@dg.op
def sweep(context: dg.OpExecutionContext, config: SweepConfig, data_dir: DataDirResource) -> dg.Output[list]:
    """Save the grid's recipes, register their partitions, and start one backfill of their scopes."""
    data = data_dir.data()
    try:
        data.dataset(config.dataset)
        named = grid_recipes(config.name, grid_values(config))
        saved = save_grid(data, load_recipe(config.base, data), named)
    except UserError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    add_missing(context.instance, datasets, [config.dataset])
    add_missing(context.instance, recipes, [recipe.name for recipe in saved])
    keys = [str(dataset_recipe_key(config.dataset, recipe.name)) for recipe in saved]
    backfill_id = submit_backfill(context, keys, f"sweep {config.name} of {config.dataset}")
    context.log.info(f"sweep {config.name}: {len(keys)} recipes, backfill {backfill_id}")
    return dg.Output(keys, metadata={"recipes": dg.MetadataValue.json(keys), "backfill": backfill_id})


@dg.job(description="A grid of recipes over one dataset, saved and materialized as one backfill")
def sweep_job() -> None:
    sweep()
