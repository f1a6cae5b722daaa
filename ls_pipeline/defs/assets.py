"""The pipeline as assets: ingest per dataset, every later stage per dataset x recipe. Each one calls a step.

Assets hand artifact ids down through the instance's event log (the `artifact_id` of the upstream asset's
latest materialization of the same partition), never through memory, so steps may run in separate processes.
"""

# No `from __future__ import annotations`: Dagster reads config and resource types from live annotations.

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from ls_pipeline import steps
from ls_pipeline.defs import checks
from ls_pipeline.defs.exclusions_source import EXCLUSIONS
from ls_pipeline.defs.exclusions_source import observation as exclusions_observation
from ls_pipeline.defs.metadata import ARTIFACT_ID, artifact_result, changes_metadata, viewer_link
from ls_pipeline.defs.partitions import dataset_recipe, datasets, split_key
from ls_pipeline.defs.recipe_config import RecipeConfig, partitioned_config
from ls_pipeline.defs.recipe_source import RECIPE, observation
from ls_pipeline.defs.resources import ChatModelsResource, DataDirResource, EmbedderResource
from ls_pipeline.errors import UserError
from ls_pipeline.recipe import Recipe
from ls_pipeline.sources.registry import Source, find_source, read_rows
from ls_pipeline.stages import cluster as cluster_stage
from ls_pipeline.stages import embed as embed_stage
from ls_pipeline.stages import ingest as ingest_stage
from ls_pipeline.stages import label as label_stage
from ls_pipeline.stages import scope as scope_stage
from ls_pipeline.stages import umap as umap_stage
from ls_pipeline.store.datadir import Dataset
from ls_pipeline.store.location import as_path
from ls_pipeline.workers.placement import GPU_QUEUE, MEMORY_QUEUE, on_queue

GROUP = "latent_scope"
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


@dg.asset(partitions_def=datasets, code_version=ingest_stage.CODE_VERSION, group_name=GROUP, kinds={"parquet"})
def ingest(context: dg.AssetExecutionContext, config: IngestConfig, data_dir: DataDirResource) -> dg.MaterializeResult:
    """input.parquet + meta.json of a dataset, from its source file."""
    started, data, name = time.perf_counter(), data_dir.data(), context.partition_key
    with user_errors():
        given = Source(name, as_path(config.path), config.text_column or None) if config.path else None
        source = given or find_source(data, name)
        before = data.dataset(name).meta().get("fingerprint") if name in data.dataset_names() else None
        rows = read_rows(source.path, source.text_column)
        params = ingest_stage.IngestParams(text_column=rows.text_column)
        meta = steps.ingest(data, name, rows.frame, params, source=source.path.name, upsert_key=rows.upsert_key)
    metadata = {
        "dataset": name,
        "source": dg.MetadataValue.path(str(source.path)),
        "rows": meta["length"],
        "text_column": meta["text_column"],
        "columns": dg.MetadataValue.json(meta["columns"]),
        "empty_texts": meta["empty_texts"],
        "fingerprint": meta["fingerprint"],
        "changed": before != meta["fingerprint"],
        "path": dg.MetadataValue.path(str(data.dataset(name).input_path)),
        "wall_time_s": round(time.perf_counter() - started, 3),
    }
    return dg.MaterializeResult(metadata=metadata, data_version=dg.DataVersion(meta["fingerprint"]))


def _stage(upstream: str, code_version: str, also: tuple[dg.AssetKey, ...] = (), **kwargs: Any) -> Any:
    """The decorator shared by the dataset x recipe stages, each identity-mapped to the stage before it, and each
    depending on its recipe's parameters (the `recipe` source asset), so a changed recipe shows them stale; `also`:
    more source assets partitioned by dataset or recipe."""
    # From ingest and recipe, Dagster infers the one-dimension mapping itself (its explicit class is still beta).
    dep = dg.AssetDep(upstream) if upstream == "ingest" else dg.AssetDep(upstream, partition_mapping=_SAME)
    deps = [dep, dg.AssetDep(RECIPE), *(dg.AssetDep(key) for key in also)]
    return dg.asset(partitions_def=dataset_recipe, deps=deps, code_version=code_version, group_name=GROUP, **kwargs)


def _partition(
    context: dg.AssetExecutionContext, data_dir: DataDirResource, recipe: RecipeConfig
) -> tuple[Dataset, Recipe]:
    """The partition's dataset and recipe; a new recipe name given parameters in the run config is saved here."""
    dataset, name = split_key(context.partition_key)
    data = data_dir.data()
    resolved = recipe.resolve(data, name)
    # The recipe's (and the exclusions') data version as this run reads it, before the materialization records its
    # inputs' versions (Dagster reads an observation logged by a step before this one).
    context.log_event(observation(resolved))
    ds = data.dataset(dataset)
    context.log_event(exclusions_observation(ds))
    return ds, resolved


def _upstream_id(context: dg.AssetExecutionContext, asset: str) -> str:
    records = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[str(context.partition_key)]), limit=1
    ).records
    if not records:
        raise UserError(f"{asset} has no materialization for partition {context.partition_key}; materialize it first")
    return str(records[0].asset_materialization.metadata[ARTIFACT_ID].value)


@_stage("ingest", embed_stage.CODE_VERSION, pool=HEAVY, kinds={"hdf5"}, op_tags=on_queue(GPU_QUEUE))
def embedding(
    context: dg.AssetExecutionContext, data_dir: DataDirResource, recipe: RecipeConfig, embedder: EmbedderResource
) -> dg.MaterializeResult:
    """Vectors of the text column (reused when another recipe has the same embedding parameters)."""
    started = time.perf_counter()
    with user_errors():
        ds, recipe = _partition(context, data_dir, recipe)
        artifact = steps.embed(ds, recipe.embed, load=embedder.load_model, workers=embedder.workers())
    return artifact_result(ds, artifact, started, recipe=recipe.name)


@_stage(
    "embedding",
    umap_stage.CODE_VERSION,
    also=(EXCLUSIONS,),
    pool=HEAVY,
    kinds={"parquet"},
    op_tags=on_queue(MEMORY_QUEUE),
)
def umap(context: dg.AssetExecutionContext, data_dir: DataDirResource, recipe: RecipeConfig) -> dg.MaterializeResult:
    """2D UMAP projection of the embedding, fitted without the dataset's excluded rows."""
    started = time.perf_counter()
    with user_errors():
        ds, recipe = _partition(context, data_dir, recipe)
        artifact = steps.umap(ds, _upstream_id(context, "embedding"), recipe.umap)
    return artifact_result(ds, artifact, started, recipe=recipe.name)


@_stage(
    "umap",
    cluster_stage.CODE_VERSION,
    check_specs=[checks.CLUSTER_LIMITS, checks.CLUSTER_SHAPE],
    kinds={"parquet"},
    op_tags=on_queue(MEMORY_QUEUE),
)
def clusters(
    context: dg.AssetExecutionContext, data_dir: DataDirResource, recipe: RecipeConfig
) -> Iterator[dg.MaterializeResult]:
    """HDBSCAN clusters (of a 10D UMAP by default), checked against the recipe's limits before anything is labeled."""
    started = time.perf_counter()
    with user_errors():
        ds, recipe = _partition(context, data_dir, recipe)
        artifact = steps.cluster(ds, _upstream_id(context, "umap"), recipe.cluster)
    verdicts = [checks.cluster_limits(artifact, recipe.checks), checks.cluster_shape(artifact, recipe.checks)]
    yield artifact_result(ds, artifact, started, check_results=verdicts, recipe=recipe.name)
    if (line := checks.blocking_failure(verdicts)) is not None:
        # Dagster's own failure for a blocking check names the check only ("1 blocking asset check failed"): the
        # step's failure, the first error in the run's log, carries the figures and the way out instead.
        raise dg.Failure(description=line, allow_retries=False)


@_stage("clusters", label_stage.CODE_VERSION, kinds={"parquet"})
def labels(
    context: dg.AssetExecutionContext, data_dir: DataDirResource, recipe: RecipeConfig, chat_models: ChatModelsResource
) -> dg.MaterializeResult:
    """A name for each cluster (keywords offline by default)."""
    started = time.perf_counter()
    with user_errors():
        ds, recipe = _partition(context, data_dir, recipe)
        artifact = steps.label(ds, _upstream_id(context, "clusters"), recipe.label, models=chat_models.models())
    return artifact_result(ds, artifact, started, recipe=recipe.name)


@_stage("labels", scope_stage.CODE_VERSION, kinds={"json"})
def scope(context: dg.AssetExecutionContext, data_dir: DataDirResource, recipe: RecipeConfig) -> dg.MaterializeResult:
    """The saved scope the viewer opens: points, clusters and labels of one recipe."""
    started = time.perf_counter()
    with user_errors():
        ds, recipe = _partition(context, data_dir, recipe)
        artifact = steps.scope(ds, _upstream_id(context, "labels"), steps.scope_params(ds, recipe))
    extra = {**viewer_link(ds.name, artifact.id), **changes_metadata(artifact.sidecar)}
    return artifact_result(ds, artifact, started, recipe=recipe.name, **extra)


RECIPE_ASSETS = [embedding, umap, clusters, labels, scope]
ingest_job = dg.define_asset_job("ingest_job", selection=[ingest])  # partitioned like its assets
# The launchpad shows the chosen partition's recipe (a new name: the default recipe) as editable run config.
recipe_job = dg.define_asset_job("recipe_job", selection=RECIPE_ASSETS, config=partitioned_config())


def ingest_run_config(path: Path, text_column: str | None = None) -> dict[str, object]:
    return {"ops": {"ingest": {"config": {"path": str(path), "text_column": text_column or ""}}}}
