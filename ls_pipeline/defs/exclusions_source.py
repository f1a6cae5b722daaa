"""A dataset's exclusion list as data Dagster tracks: an observable source asset, one partition per dataset, whose
data version is the hash of the excluded rows. The umap asset depends on it, so when a curator changes the list
Dagster marks that dataset's layouts, clusterings, labels and scopes stale, while its embeddings stay fresh (the
rows' vectors do not change). An undo back to earlier rows gives the earlier version, and those assets are fresh
again. Per-scope curation (renames, moves, removed rows of one scope) is not here: it never calls for a refit."""

# No `from __future__ import annotations`: Dagster reads resource types from live annotations.

import dagster as dg

from ls_pipeline.defs.layout import EXCLUSIONS_SOURCE, Layout
from ls_pipeline.defs.observed_source import changed_observations, observable_source, versioned_observation
from ls_pipeline.defs.partitions import datasets
from ls_pipeline.defs.resources import DataDirResource
from ls_pipeline.steps import exclusions as exclusions_step
from ls_pipeline.store.datadir import Dataset

EXCLUSIONS = dg.AssetKey(EXCLUSIONS_SOURCE)  # the project's own code location's (no key prefix)


def exclusions_version(ds: Dataset) -> str:
    """The excluded rows' hash (the empty list has one too, so no version and an undone one read the same)."""
    return exclusions_step.rows_hash(exclusions_step.read_excluded(ds))


def observation(ds: Dataset, key: dg.AssetKey = EXCLUSIONS) -> dg.AssetObservation:
    """What a run that fits a map records first, so its materialization's provenance names this version."""
    current = exclusions_step.current(ds)
    return versioned_observation(key, ds.name, exclusions_version(ds), exclusions_id=current.id if current else "none")


def exclusions_source_asset(layout: Layout) -> dg.SourceAsset:
    """The exclusion lists of `layout`'s datasets as an observable source asset, one partition per dataset."""

    def version(context: dg.AssetExecutionContext) -> str:
        return exclusions_version(layout.data(context).dataset(context.partition_key))

    return observable_source(layout, EXCLUSIONS_SOURCE, layout.datasets, "A dataset's excluded rows", version)


# A sensor, not an automation condition: the list is edited outside Dagster (the explorer, ls-exclude, the Python
# API), and only reading it says so. The project's own code location only; a component observes it at each run.


@dg.sensor(minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def exclusions_sensor(context: dg.SensorEvaluationContext, data_dir: DataDirResource) -> dg.SensorResult:
    """Observes every dataset whose exclusion list changed since the last tick (from the explorer, ls-exclude or
    the Python API), so its maps show stale without a run. It launches nothing: whether a stale map is refitted
    now is the automation's choice."""
    data = data_dir.data()
    names = set(data.dataset_names())
    current = {
        name: exclusions_version(data.dataset(name))
        for name in context.instance.get_dynamic_partitions(datasets.name)
        if name in names
    }
    return changed_observations(context, current, lambda name: observation(data.dataset(name)))
