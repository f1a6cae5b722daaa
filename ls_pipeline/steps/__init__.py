"""Each stage run through the data directory: read inputs via store/, call the pure stage, publish the artifact.

One module per stage, named like its stage, asset, command and folder (ingest, embed, umap, cluster, label, scope).
The CLI, the Python API and the Dagster assets all call these functions, so they write the same files.
"""

from __future__ import annotations

from typing import Any

from ls_pipeline.stages.scope import ScopeParams
from ls_pipeline.steps.cluster import cluster, read_clusters, require_clustering_checks
from ls_pipeline.steps.duplicates import duplicates
from ls_pipeline.steps.embed import embed, import_embeddings, read_embeddings
from ls_pipeline.steps.ingest import ingest, read_texts
from ls_pipeline.steps.label import label
from ls_pipeline.steps.scope import check_chain, scope
from ls_pipeline.steps.umap import read_umap, umap
from ls_pipeline.store.artifacts import Artifact, NotBuilt, reuse_only
from ls_pipeline.store.datadir import Dataset

__all__ = [
    "check_chain",
    "cluster",
    "duplicates",
    "embed",
    "import_embeddings",
    "ingest",
    "label",
    "read_clusters",
    "read_embeddings",
    "read_texts",
    "read_umap",
    "require_clustering_checks",
    "reused_recipe",
    "run_recipe",
    "scope",
    "scope_params",
    "umap",
]


def run_recipe(ds: Dataset, recipe: Any, **services: Any) -> dict[str, Artifact]:
    """Every stage after ingest with one recipe; stages whose fingerprint exists are reused, not recomputed.
    `services` may hold `load` (the embedding model loader) for embed."""
    artifacts = {"embedding": embed(ds, recipe.embed, **services)}
    artifacts["umap"] = umap(ds, artifacts["embedding"].id, recipe.umap)
    artifacts["cluster"] = cluster(ds, artifacts["umap"].id, recipe.cluster)
    require_clustering_checks(artifacts["cluster"], recipe.checks)
    artifacts["labels"] = label(ds, artifacts["cluster"].id, recipe.label)
    artifacts["scope"] = scope(ds, artifacts["labels"].id, scope_params(ds, recipe))
    return artifacts


def reused_recipe(ds: Dataset, recipe: Any) -> dict[str, Artifact] | None:
    """run_recipe's artifacts where every stage exists already (nothing is computed), else None."""
    with reuse_only():
        try:
            return run_recipe(ds, recipe)
        except NotBuilt:
            return None


def scope_params(ds: Dataset, recipe: Any) -> ScopeParams:
    return ScopeParams(label=f"{ds.name} ({recipe.name})", description=recipe.description)
