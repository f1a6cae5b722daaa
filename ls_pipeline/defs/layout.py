"""Where one set of stage assets lives in a Dagster project: its key prefix, its partitions, its data directory.

The project's own code location uses the empty prefix and the instance-wide dynamic partitions (`datasets`,
`recipes`), so every dataset of the data directory is a partition. A component configured for one dataset uses a
prefix and static partitions of its own, because dynamic partition names are shared by the whole instance: two
components in one project then never see each other's partitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dagster as dg

from ls_pipeline.defs import partitions
from ls_pipeline.store.datadir import DataDir

RECIPE_STAGES = ("embedding", "umap", "clusters", "labels", "scope")
INGEST, EXPORT, RECIPE_SOURCE, EXCLUSIONS_SOURCE = "ingest", "export", "recipe", "exclusions"
DATA_DIR_KEY = "data_dir"  # the resource the project's own code location reads the data directory from


@dataclass(frozen=True)
class Layout:
    prefix: tuple[str, ...] = ()
    datasets: dg.PartitionsDefinition = partitions.datasets
    recipes: dg.PartitionsDefinition = partitions.recipes
    data_dir: str = ""  # empty: the `data_dir` resource ($LATENT_SCOPE_DATA where the step runs)
    group: str = "latent_scope"

    @property
    def dataset_recipe(self) -> dg.MultiPartitionsDefinition:
        if not self.prefix:
            return partitions.dataset_recipe
        return dg.MultiPartitionsDefinition({partitions.DATASET: self.datasets, partitions.RECIPE: self.recipes})

    def key(self, name: str) -> dg.AssetKey:
        return dg.AssetKey([*self.prefix, name])

    def name(self, name: str) -> str:
        """A job's or sensor's name, unique per layout (Dagster names are flat)."""
        return "__".join([*self.prefix, name])

    def resource_keys(self) -> set[str]:
        return set() if self.data_dir else {DATA_DIR_KEY}

    def data(self, context: Any) -> DataDir:
        """The data directory a step reads and writes: the layout's own, else the `data_dir` resource's."""
        return DataDir(self.data_dir) if self.data_dir else getattr(context.resources, DATA_DIR_KEY).data()


def for_dataset(prefix: str, dataset: str, recipes: list[str], data_dir: str = "") -> Layout:
    """The layout of a component that maps one dataset under `recipes`."""
    return Layout(
        prefix=tuple(prefix.split("/")),
        datasets=dg.StaticPartitionsDefinition([dataset]),
        recipes=dg.StaticPartitionsDefinition(recipes),
        data_dir=data_dir,
        group=prefix.replace("/", "_"),
    )
