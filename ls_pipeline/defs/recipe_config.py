"""The recipe as typed run config: the launchpad's `resources.recipe.config`, one section per stage, each field
derived from that stage's params dataclass (name, type, allowed values, help), so no second list exists.

A field left out takes the recipe's value. Under a recipe name not known yet, the given values (over the default
recipe) are saved as _recipes/NAME.yaml before anything is computed, so the recipe is remembered like a file-made
one; under a known name, any value other than the recipe's is refused: a recipe name is never reused.
"""

# No `from __future__ import annotations`: Dagster and pydantic read the field types from live annotations.

import dataclasses
import enum
import functools
import typing
from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import Field, create_model

from ls_pipeline.defs.partitions import dataset_recipe, split_key
from ls_pipeline.errors import NotFound, UserError
from ls_pipeline.params import help_of, hints
from ls_pipeline.recipe import (
    DEFAULT,
    SECTIONS,
    Recipe,
    differences,
    load_recipe,
    recipe_values,
    with_values,
    write_recipe,
)
from ls_pipeline.store.datadir import DataDir, resolve_data_dir

KEY = "recipe"  # the resource key: `resources: {recipe: {config: {umap: {neighbors: 10}}}}`


def _config_type(cls: type, name: str) -> Any:
    hint = hints(cls)[name]
    if typing.get_origin(hint) is typing.Literal:  # Dagster takes Enum (shown as a choice), not Optional[Literal]
        return enum.Enum(f"{cls.__name__}_{name}", {value: value for value in typing.get_args(hint)})
    return hint


def section_config(cls: type) -> type[dg.Config]:
    """A Config class with one optional field per params field; None means "the recipe's value"."""
    default = dataclasses.asdict(cls())
    fields = {
        f.name: (
            _config_type(cls, f.name) | None,
            Field(None, description=f"{help_of(f)} (default: {default[f.name]!r})"),
        )
        for f in dataclasses.fields(cls)
    }
    return create_model(f"{cls.__name__}Config", __base__=dg.Config, **fields)  # type: ignore[call-overload]


class _RecipeResource(dg.ConfigurableResource):
    """A recipe's parameters for this run (empty: the partition's saved recipe as it is)."""

    def given(self) -> dict[str, dict[str, Any]]:
        """Section -> field -> value of the fields set in the run config."""
        found: dict[str, dict[str, Any]] = {}
        for key in SECTIONS:
            section = getattr(self, key)
            values = {} if section is None else section.model_dump(exclude_none=True)
            values = {name: value.value if isinstance(value, enum.Enum) else value for name, value in values.items()}
            if values:
                found[key] = values
        return found

    def resolve(self, data: DataDir, name: str) -> Recipe:
        return resolve_recipe(data, name, self.given())


RecipeConfig = create_model(  # type: ignore[call-overload]
    "RecipeConfig",
    __base__=_RecipeResource,
    __doc__="The recipe's parameters per stage; a field left out is the recipe's (a new recipe: the default's).",
    **{key: (section_config(cls) | None, Field(None, description=cls.__doc__ or key)) for key, cls in SECTIONS.items()},
)


def resolve_recipe(data: DataDir, name: str, given: Mapping[str, Mapping[str, Any]]) -> Recipe:
    """The recipe a run uses: the saved one (checked against `given`), or a new one saved from `given`."""
    try:
        known: Recipe | None = load_recipe(name, data)
    except NotFound:
        known = None
    if known is not None:
        changed = differences(known, given)
        if changed:
            raise UserError(
                f"recipe {name!r} already exists with other parameters ({'; '.join(changed)}); "
                "a recipe name is never reused: launch under a new name"
            )
        return known
    recipe = with_values(load_recipe(DEFAULT, data), name, given, description="saved from a Dagster run's config")
    write_recipe(data, recipe)
    return recipe


def run_config(values: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {"resources": {KEY: {"config": {key: dict(section) for key, section in values.items()}}}}


def config_for_partition(key: str) -> dict[str, Any]:
    """What the launchpad shows for a partition: its recipe's parameters, or the default recipe's for a new name.
    A recipe that cannot be read gives no config, so the run fails on the recipe's own one-line error."""
    _dataset, name = split_key(key)
    try:
        data = DataDir(resolve_data_dir())
        try:
            recipe = load_recipe(name, data)
        except NotFound:
            recipe = load_recipe(DEFAULT, data)
    except UserError:
        return {}
    return run_config(recipe_values(recipe))


@functools.cache
def _project_config() -> dg.PartitionedConfig:
    return dg.PartitionedConfig(partitions_def=dataset_recipe, run_config_for_partition_key_fn=config_for_partition)


def partitioned_config(partitions_def: dg.PartitionsDefinition = dataset_recipe) -> dg.PartitionedConfig:
    """The launchpad's run config per partition (the project's own location's is one object, however often asked)."""
    if partitions_def is dataset_recipe:
        return _project_config()
    return dg.PartitionedConfig(partitions_def=partitions_def, run_config_for_partition_key_fn=config_for_partition)
