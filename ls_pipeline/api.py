"""The Python API for notebooks: `import ls_pipeline as ls; ls.init(path); ls.ingest(...); ls.embed(...)`.

Each call returns the artifact id (or meta for ingest) and writes the same files as the CLI and Dagster.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from ls_pipeline import steps
from ls_pipeline.errors import UserError
from ls_pipeline.recipe import DEFAULT, load_recipe
from ls_pipeline.sources.files import read_table
from ls_pipeline.stages.cluster import ClusterParams
from ls_pipeline.stages.embed import EmbedParams
from ls_pipeline.stages.ingest import IngestParams
from ls_pipeline.stages.label import LabelParams
from ls_pipeline.stages.project import UmapParams
from ls_pipeline.stages.scope import ScopeParams
from ls_pipeline.store.atomic import write_bytes
from ls_pipeline.store.datadir import DATA_ENV, DataDir, check_name, resolve_data_dir

_KEY_NAMES = {"openai_key": "OPENAI_API_KEY", "mistral_key": "MISTRAL_API_KEY"}


def init(path: str | os.PathLike[str], **keys: str) -> Path:
    """Choose (and create) the data directory for this process; API keys go to its .env, never to sidecars."""
    unknown = sorted(set(keys) - set(_KEY_NAMES))
    if not isinstance(path, str | os.PathLike) or not str(path):
        raise UserError(f"init needs a folder path, got {_shown(path)}")
    if unknown:
        raise UserError(f"unknown key option(s) {', '.join(unknown)}; allowed: {', '.join(_KEY_NAMES)}")
    root = Path(path).expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    os.environ[DATA_ENV] = str(root)
    if keys:
        _update_env_file(root / ".env", {_KEY_NAMES[k]: v for k, v in keys.items() if v})
    return root


def _update_env_file(path: Path, values: dict[str, str]) -> None:
    lines = path.read_text().splitlines() if path.is_file() else []
    kept = [line for line in lines if line.partition("=")[0].strip() not in values]
    write_bytes(path, ("\n".join([*kept, *(f"{k}={v}" for k, v in values.items())]) + "\n").encode())
    path.chmod(0o600)


def data_dir() -> DataDir:
    return DataDir(resolve_data_dir())


def ingest(name: str, data: pd.DataFrame | str | os.PathLike[str], text_column: str | None = None) -> dict[str, Any]:
    """Ingest a DataFrame or a data file (CSV, Parquet, JSON, JSONL, Excel) as dataset `name`."""
    check_name(name)
    if not isinstance(data, pd.DataFrame | str | os.PathLike):
        raise UserError(f"ingest takes a pandas DataFrame or a file path, got {_shown(data)}")
    frame = data if isinstance(data, pd.DataFrame) else read_table(data)
    source = "dataframe" if isinstance(data, pd.DataFrame) else Path(data).name
    return steps.ingest(data_dir(), name, frame, IngestParams(text_column=text_column), source=source)


def embed(
    dataset: str,
    text_column: str | None = None,
    model_id: str | None = None,
    prefix: str = "",
    batch_size: int = 64,
    quantize: str = "none",
) -> str:
    for what, value in (("text_column", text_column), ("prefix", prefix)):
        if value is not None and not isinstance(value, str):
            raise UserError(f"{what} must be a string, got {_shown(value)}")
    params = EmbedParams(
        model_id=model_id or EmbedParams.model_id,
        prefix=prefix,
        batch_size=batch_size,
        text_column=text_column,
        quantize=quantize,  # type: ignore[arg-type]
    )
    return steps.embed(data_dir().dataset(dataset), params).id


def umap(
    dataset: str,
    embedding_id: str,
    neighbors: int = UmapParams.neighbors,
    min_dist: float = UmapParams.min_dist,
    seed: int = UmapParams.seed,
    fresh_layout: bool = False,
) -> str:
    """A 2D map; rows added since an earlier map of the dataset are placed on it unless fresh_layout."""
    params = UmapParams(neighbors, min_dist, seed, fresh_layout=fresh_layout)
    return steps.umap(data_dir().dataset(dataset), embedding_id, params).id


def cluster(
    dataset: str,
    umap_id: str,
    samples: int = ClusterParams.min_cluster_size,
    min_samples: int = ClusterParams.min_samples,
    cluster_selection_epsilon: float = 0.0,
    method: str = ClusterParams.method,
    selection: str = ClusterParams.selection,
    cluster_on: str = ClusterParams.cluster_on,
    assign_noise: bool = ClusterParams.assign_noise,
) -> str:
    params = ClusterParams(
        samples,
        min_samples,
        cluster_selection_epsilon,
        method,
        selection,
        cluster_on,
        assign_noise,  # type: ignore[arg-type]
    )
    return steps.cluster(data_dir().dataset(dataset), umap_id, params).id


def label(dataset: str, text_column: str | None, cluster_id: str, model_id: str = "keywords", context: str = "") -> str:
    params = LabelParams(labeler=model_id, context=context, text_column=text_column)
    return steps.label(data_dir().dataset(dataset), cluster_id, params).id


def scope(dataset: str, cluster_labels_id: str, label: str, description: str = "") -> str:
    return steps.scope(data_dir().dataset(dataset), cluster_labels_id, ScopeParams(label, description)).id


def run(dataset: str, recipe: str = DEFAULT) -> dict[str, str]:
    """Every stage after ingest with a named recipe; returns the artifact id of each stage."""
    if not isinstance(recipe, str):
        raise UserError(f"recipe must be a recipe name or a YAML file path, got {_shown(recipe)}")
    data = data_dir()
    artifacts = steps.run_recipe(data.dataset(dataset), load_recipe(recipe, data))
    return {kind: artifact.id for kind, artifact in artifacts.items()}


def _shown(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"[:80]


def serve(host: str = "127.0.0.1", port: int = 5001) -> None:
    from viewer.server import run_server

    run_server(resolve_data_dir(), host=host, port=port)
