"""The recipe stages as assets, built per layout: every stage per dataset x recipe, each one calling a step.

Assets hand artifact ids down through the instance's event log (the `artifact_id` of the upstream asset's
latest materialization of the same partition), never through memory, so steps may run in separate processes.
Nothing here is defined at import: the LatentScope component (defs/component.py) builds these for its layout, the
project's own code location among its users.
"""

# No `from __future__ import annotations`: Dagster reads config and resource types from live annotations.

import contextlib
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from ls_pipeline import steps
from ls_pipeline.defs import checks
from ls_pipeline.defs.exclusions_source import observation as exclusions_observation
from ls_pipeline.defs.layout import EXCLUSIONS_SOURCE, INGEST, RECIPE_SOURCE, Layout
from ls_pipeline.defs.metadata import ARTIFACT_ID, artifact_result, changes_metadata, viewer_link
from ls_pipeline.defs.partitions import split_key
from ls_pipeline.defs.recipe_config import KEY
from ls_pipeline.defs.recipe_source import observation
from ls_pipeline.errors import UserError
from ls_pipeline.recipe import Recipe
from ls_pipeline.stages import cluster as cluster_stage
from ls_pipeline.stages import embed as embed_stage
from ls_pipeline.stages import label as label_stage
from ls_pipeline.stages import scope as scope_stage
from ls_pipeline.stages import umap as umap_stage
from ls_pipeline.store.datadir import Dataset
from ls_pipeline.workers.placement import GPU_QUEUE, MEMORY_QUEUE, on_queue

HEAVY = "ls_heavy"  # the concurrency pool of CPU-bound steps; dagster.yaml limits it
_SAME = dg.IdentityPartitionMapping()


class IngestConfig(dg.Config):
    path: str = Field("", description="File to ingest; empty: the dataset's entry in _sources.yaml or _inbox/ file")
    text_column: str = Field("", description="Column to embed; empty: guessed ('text' if present)")


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """A user mistake fails the step with its one-line message (shown in the UI, unwrapped by ls-run)."""
    try:
        yield
    except UserError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc


def _stage(
    layout: Layout, name: str, upstream: str, code_version: str, also: tuple[str, ...] = (), **kwargs: Any
) -> Any:
    """The decorator shared by the dataset x recipe stages, each identity-mapped to the stage before it, and each
    depending on its recipe's parameters (the `recipe` source asset), so a changed recipe shows them stale; `also`:
    more source assets partitioned by dataset or recipe."""
    # From ingest and recipe, Dagster infers the one-dimension mapping itself (its explicit class is still beta).
    upstream_key = layout.key(upstream)
    dep = dg.AssetDep(upstream_key) if upstream == INGEST else dg.AssetDep(upstream_key, partition_mapping=_SAME)
    return dg.asset(
        key=layout.key(name),
        partitions_def=layout.dataset_recipe,
        deps=[dep, dg.AssetDep(layout.key(RECIPE_SOURCE)), *(dg.AssetDep(layout.key(source)) for source in also)],
        code_version=code_version,
        group_name=layout.group,
        **kwargs,
    )


def _partition(context: dg.AssetExecutionContext, layout: Layout) -> tuple[Dataset, Recipe]:
    """The partition's dataset and recipe; a new recipe name given parameters in the run config is saved here."""
    dataset, name = split_key(context.partition_key)
    data = layout.data(context)
    resolved = getattr(context.resources, KEY).resolve(data, name)
    # The recipe's data version as this run reads it, before the materialization records its inputs' versions.
    # The exclusions' version too (Dagster reads an observation logged by a step before this one).
    context.log_event(observation(resolved, layout.key(RECIPE_SOURCE)))
    ds = data.dataset(dataset)
    context.log_event(exclusions_observation(ds, layout.key(EXCLUSIONS_SOURCE)))
    return ds, resolved


def upstream_id(context: dg.AssetExecutionContext, asset: dg.AssetKey) -> str:
    """The artifact id of `asset`'s latest materialization of this run's partition."""
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset, asset_partitions=[str(context.partition_key)]), limit=1
    ).records
    if not records:
        name = asset.to_user_string()
        raise UserError(f"{name} has no materialization for partition {context.partition_key}; materialize it first")
    return str(records[0].asset_materialization.metadata[ARTIFACT_ID].value)


def recipe_stage_assets(
    layout: Layout, conditions: Mapping[str, dg.AutomationCondition | None]
) -> list[dg.AssetsDefinition]:
    """embedding, umap, clusters, labels and scope of `layout`, each with its automation condition (or none)."""
    needs = layout.resource_keys() | {KEY}

    @_stage(
        layout, "embedding", INGEST, embed_stage.CODE_VERSION, pool=HEAVY, kinds={"hdf5"},
        op_tags=on_queue(GPU_QUEUE), required_resource_keys=needs | {"embedder"},
        automation_condition=conditions.get("embedding"),
    )  # fmt: skip
    def embedding(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        """Vectors of the text column (reused when another recipe has the same embedding parameters)."""
        started, embedder = time.perf_counter(), context.resources.embedder
        with user_errors():
            ds, recipe = _partition(context, layout)
            artifact = steps.embed(ds, recipe.embed, load=embedder.load_model, workers=embedder.workers())
        return artifact_result(ds, artifact, started, recipe=recipe.name)

    @_stage(
        layout, "umap", "embedding", umap_stage.CODE_VERSION, also=(EXCLUSIONS_SOURCE,), pool=HEAVY, kinds={"parquet"},
        op_tags=on_queue(MEMORY_QUEUE), required_resource_keys=needs, automation_condition=conditions.get("umap"),
    )  # fmt: skip
    def umap(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        """2D UMAP projection of the embedding, fitted without the dataset's excluded rows."""
        started = time.perf_counter()
        with user_errors():
            ds, recipe = _partition(context, layout)
            artifact = steps.umap(ds, upstream_id(context, layout.key("embedding")), recipe.umap)
        return artifact_result(ds, artifact, started, recipe=recipe.name)

    @_stage(
        layout, "clusters", "umap", cluster_stage.CODE_VERSION, check_specs=checks.specs_for(layout.key("clusters")),
        kinds={"parquet"}, op_tags=on_queue(MEMORY_QUEUE), required_resource_keys=needs,
        automation_condition=conditions.get("clusters"),
    )  # fmt: skip
    def clusters(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
        """HDBSCAN clusters (of a 10D UMAP by default), checked against the recipe's limits before anything is
        labeled."""
        started = time.perf_counter()
        with user_errors():
            ds, recipe = _partition(context, layout)
            artifact = steps.cluster(ds, upstream_id(context, layout.key("umap")), recipe.cluster)
        verdicts = [checks.cluster_limits(artifact, recipe.checks), checks.cluster_shape(artifact, recipe.checks)]
        yield artifact_result(ds, artifact, started, check_results=verdicts, recipe=recipe.name)
        if (line := checks.blocking_failure(verdicts)) is not None:
            # Dagster's own failure for a blocking check names the check only ("1 blocking asset check failed"):
            # the step's failure, the first error in the run's log, carries the figures and the way out instead.
            raise dg.Failure(description=line, allow_retries=False)

    @_stage(
        layout, "labels", "clusters", label_stage.CODE_VERSION, kinds={"parquet"},
        required_resource_keys=needs | {"chat_models"}, automation_condition=conditions.get("labels"),
    )  # fmt: skip
    def labels(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        """A name for each cluster (keywords offline by default)."""
        started, models = time.perf_counter(), context.resources.chat_models.models()
        with user_errors():
            ds, recipe = _partition(context, layout)
            artifact = steps.label(ds, upstream_id(context, layout.key("clusters")), recipe.label, models=models)
        return artifact_result(ds, artifact, started, recipe=recipe.name)

    @_stage(
        layout, "scope", "labels", scope_stage.CODE_VERSION, kinds={"json"}, required_resource_keys=needs,
        automation_condition=conditions.get("scope"),
    )  # fmt: skip
    def scope(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        """The saved scope the viewer opens: points, clusters and labels of one recipe."""
        started = time.perf_counter()
        with user_errors():
            ds, recipe = _partition(context, layout)
            artifact = steps.scope(ds, upstream_id(context, layout.key("labels")), steps.scope_params(ds, recipe))
        extra = {**viewer_link(ds.name, artifact.id), **changes_metadata(artifact.sidecar)}
        return artifact_result(ds, artifact, started, recipe=recipe.name, **extra)

    return [embedding, umap, clusters, labels, scope]


def ingest_run_config(path: Path, text_column: str | None = None, prefix: tuple[str, ...] = ()) -> dict[str, object]:
    op = "__".join([*prefix, INGEST])
    return {"ops": {op: {"config": {"path": str(path), "text_column": text_column or ""}}}}
