"""Partitions: one dynamic partition per dataset and one per named recipe; later stages use both."""

from __future__ import annotations

import dagster as dg

DATASET, RECIPE = "dataset", "recipe"

datasets = dg.DynamicPartitionsDefinition(name="datasets")
recipes = dg.DynamicPartitionsDefinition(name="recipes")
dataset_recipe = dg.MultiPartitionsDefinition({DATASET: datasets, RECIPE: recipes})


def dataset_recipe_key(dataset: str, recipe: str) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({DATASET: dataset, RECIPE: recipe})


def split_key(key: str | dg.MultiPartitionKey) -> tuple[str, str]:
    """(dataset, recipe) of a dataset x recipe partition key, given as a key object or its string form."""
    if not isinstance(key, dg.MultiPartitionKey):
        key = dataset_recipe.get_partition_key_from_str(key)
    dims = key.keys_by_dimension
    return dims[DATASET], dims[RECIPE]


def add_missing(instance: dg.DagsterInstance, partitions: dg.DynamicPartitionsDefinition, keys: list[str]) -> list[str]:
    """Register the keys this instance does not know yet; returns those added."""
    known = set(instance.get_dynamic_partitions(partitions.name))
    missing = sorted(set(keys) - known)
    if missing:
        instance.add_dynamic_partitions(partitions.name, missing)
    return missing
