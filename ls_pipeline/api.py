"""The Python API for notebooks: `import ls_pipeline as ls; ls.init(path); ls.ingest(...); ls.embed(...)`.

Each call returns the artifact id (or meta for ingest) and writes the same files as the CLI and Dagster.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ls_pipeline import steps
from ls_pipeline.errors import UserError
from ls_pipeline.params import takes
from ls_pipeline.recipe import DEFAULT, load_recipe
from ls_pipeline.sources.files import read_table
from ls_pipeline.sources.vectors import list_column, read_vectors
from ls_pipeline.stages.cluster import ClusterParams
from ls_pipeline.stages.duplicates import DuplicatesParams
from ls_pipeline.stages.embed import EmbedParams
from ls_pipeline.stages.ingest import IngestParams
from ls_pipeline.stages.label import LabelParams
from ls_pipeline.stages.scope import ScopeParams
from ls_pipeline.stages.umap import UmapParams
from ls_pipeline.store.atomic import write_bytes
from ls_pipeline.store.datadir import DataDir, check_name, resolve_data_dir
from ls_pipeline.store.files import read_stored_table
from ls_pipeline.store.location import Root, check_reachable, is_remote, parse_root

_KEY_NAMES = {"openai_key": "OPENAI_API_KEY", "mistral_key": "MISTRAL_API_KEY"}
_chosen: list[Root] = []  # the data directory ls.init chose for this process (the environment is left alone)


def init(path: str | os.PathLike[str], **keys: str) -> Root:
    """Choose (and create) the data directory for this process: a folder, or s3://bucket/prefix on object storage.

    API keys go to its .env, never to sidecars.
    """
    unknown = sorted(set(keys) - set(_KEY_NAMES))
    if not isinstance(path, str | os.PathLike) or not str(path):
        raise UserError(f"init needs a folder path, got {_shown(path)}")
    if unknown:
        raise UserError(f"unknown key option(s) {', '.join(unknown)}; allowed: {', '.join(_KEY_NAMES)}")
    root = parse_root(path)
    if keys and is_remote(root):  # the keys file would be an object anyone with the bucket could read
        raise UserError("API keys are not stored on object storage: set OPENAI_API_KEY / MISTRAL_API_KEY instead")
    check_reachable(root)
    if not is_remote(root):  # an object store has no folders to make; its bucket must exist
        root.mkdir(parents=True, exist_ok=True)
    _chosen[:] = [root]
    if keys:
        _update_env_file(DataDir(root).keys_file, {_KEY_NAMES[k]: v for k, v in keys.items() if v})
    return root


def _update_env_file(path: Path, values: dict[str, str]) -> None:
    lines = path.read_text().splitlines() if path.is_file() else []
    kept = [line for line in lines if line.partition("=")[0].strip() not in values]
    write_bytes(path, ("\n".join([*kept, *(f"{k}={v}" for k, v in values.items())]) + "\n").encode())
    path.chmod(0o600)


def data_dir() -> DataDir:
    """The data directory ls.init chose, else the one LATENT_SCOPE_DATA or ./.env names."""
    return DataDir(_chosen[0] if _chosen else resolve_data_dir())


def ingest(name: str, data: pd.DataFrame | str | os.PathLike[str], text_column: str | None = None) -> dict[str, Any]:
    """Ingest a DataFrame or a data file (CSV, Parquet, JSON, JSONL, Excel) as dataset `name`."""
    check_name(name)
    if not isinstance(data, pd.DataFrame | str | os.PathLike):
        raise UserError(f"ingest takes a pandas DataFrame or a file path, got {_shown(data)}")
    frame = data if isinstance(data, pd.DataFrame) else read_table(data)
    source = "dataframe" if isinstance(data, pd.DataFrame) else Path(data).name
    return steps.ingest(data_dir(), name, frame, IngestParams(text_column=text_column), source=source)


@takes(EmbedParams, "dataset", "text_column", "model_id", "prefix", "batch_size", "quantize")
def embed(dataset: str, params: EmbedParams) -> str:
    """Vectors of the dataset's text column; the keywords are EmbedParams' fields."""
    return steps.embed(data_dir().dataset(dataset), params).id


def import_embeddings(
    dataset: str,
    vectors: np.ndarray | str | os.PathLike[str] | None = None,
    model_id: str = "imported",
    column: str | None = None,
) -> str:
    """Vectors computed elsewhere (an array, a .npy/.h5/.parquet file, or `column` of the dataset's own rows) as an
    embedding of `dataset`; `model_id` names the model that made them (search uses it when it can load here)."""
    if not isinstance(model_id, str) or not model_id:
        raise UserError(f"model_id must be a non-empty string, got {_shown(model_id)}")
    ds = data_dir().dataset(dataset)
    if vectors is None:
        if column is None:
            raise UserError("import_embeddings needs vectors (an array or a file) or the dataset's vector column")
        matrix, source = (
            list_column(read_stored_table(ds.input_path), column, f"dataset {dataset!r}"),
            f"column {column}",
        )
    elif isinstance(vectors, str | os.PathLike):
        matrix, source = read_vectors(vectors, column), Path(vectors).name
    else:
        matrix, source = vectors, "array"
    return steps.import_embeddings(ds, matrix, model_id, source).id


@takes(UmapParams, "dataset", "embedding_id", "neighbors", "min_dist", "seed", "fresh_layout")
def umap(dataset: str, embedding_id: str, params: UmapParams) -> str:
    """A 2D map; rows added since an earlier map of the dataset are placed on it unless fresh_layout."""
    return steps.umap(data_dir().dataset(dataset), embedding_id, params).id


@takes(ClusterParams, "dataset", "umap_id", "samples", "min_samples", "cluster_selection_epsilon", "method")
def cluster(dataset: str, umap_id: str, params: ClusterParams) -> str:
    """HDBSCAN clusters of a map; `samples` is min_cluster_size, as Latent Scope names it."""
    return steps.cluster(data_dir().dataset(dataset), umap_id, params).id


@takes(LabelParams, "dataset", "text_column", "cluster_id", "model_id", "context")
def label(dataset: str, cluster_id: str, params: LabelParams) -> str:
    """Names for a clustering's clusters; `model_id` is the labeler ('keywords' or a chat model id)."""
    return steps.label(data_dir().dataset(dataset), cluster_id, params).id


@takes(ScopeParams, "dataset", "cluster_labels_id", "label", "description")
def scope(dataset: str, cluster_labels_id: str, params: ScopeParams) -> str:
    return steps.scope(data_dir().dataset(dataset), cluster_labels_id, params).id


def run(dataset: str, recipe: str = DEFAULT) -> dict[str, str]:
    """Every stage after ingest with a named recipe; returns the artifact id of each stage."""
    if not isinstance(recipe, str):
        raise UserError(f"recipe must be a recipe name or a YAML file path, got {_shown(recipe)}")
    data = data_dir()
    artifacts = steps.run_recipe(data.dataset(dataset), load_recipe(recipe, data))
    return {kind: artifact.id for kind, artifact in artifacts.items()}


@takes(DuplicatesParams, "dataset", "embedding_id", "threshold", "neighbors")
def duplicates(dataset: str, embedding_id: str, params: DuplicatesParams) -> str:
    """Near-duplicate groups of an embedding's rows (connected pairs at or above the cosine threshold); the tag
    `near-duplicates` is set to their rows, for the explorer's filters and facets."""
    from ls_pipeline.steps.duplicates import tag_groups

    ds = data_dir().dataset(dataset)
    made = steps.duplicates(ds, embedding_id, params)
    tag_groups(ds, made.id)
    return made.id


def exclude(
    dataset: str,
    rows: list[int] | None = None,
    tag: str | None = None,
    duplicates_id: str | None = None,
    restore: list[int] | None = None,
    undo: bool = False,
) -> str:
    """A new version of the dataset's exclusion list (one change: rows, a tag's rows, all but one row of each
    near-duplicate group, rows restored, or an undo); the next run of the recipe leaves those rows out."""
    from ls_pipeline.steps import exclusions

    ds = data_dir().dataset(dataset)
    changes = [rows is not None, tag is not None, duplicates_id is not None, restore is not None, undo]
    if sum(changes) != 1:
        raise UserError("exclude takes exactly one of rows, tag, duplicates_id, restore or undo")
    if rows is not None:
        return exclusions.exclude(ds, rows).id
    if tag is not None:
        return exclusions.exclude_tag(ds, tag).id
    if duplicates_id is not None:
        return exclusions.exclude_duplicates(ds, duplicates_id or None).id
    if restore is not None:
        return exclusions.restore(ds, restore).id
    return exclusions.undo(ds).id


def _shown(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"[:80]


def serve(host: str = "127.0.0.1", port: int = 5001) -> None:
    # By name: the pipeline never imports the viewer (the viewer imports the pipeline).
    importlib.import_module("viewer.server").run_server(data_dir().root, host=host, port=port)
