"""Cluster through the data directory: HDBSCAN on a map, its default labels table and thumbnail, and the checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ls_pipeline.errors import UserError
from ls_pipeline.stages import cluster as cluster_stage
from ls_pipeline.stages import map_quality
from ls_pipeline.stages import umap as umap_stage
from ls_pipeline.stages.thumbnail import render_png
from ls_pipeline.steps.embed import read_embeddings
from ls_pipeline.steps.umap import can_redraw, excluded_of, knn_key, layout_params, read_umap, redraw
from ls_pipeline.store.artifacts import Artifact, Staging, produce
from ls_pipeline.store.datadir import Dataset
from ls_pipeline.store.files import read_stored_table
from ls_pipeline.store.fingerprint import fingerprint
from ls_pipeline.store.knn_cache import KnnCache
from ls_pipeline.store.layout import CLUSTER, DEFAULT_LABELS, EMBEDDING, TABLE, THUMBNAIL
from ls_pipeline.store.sidecars import EmbeddingSidecar, UmapSidecar, params_record


def cluster(ds: Dataset, umap_id: str, params: cluster_stage.ClusterParams) -> Artifact:
    source: UmapSidecar = ds.sidecar("umap", umap_id)
    fp = fingerprint("cluster", cluster_stage.CODE_VERSION, params.fingerprint_fields(), {umap_id: source.fingerprint})

    def build(staging: Staging) -> dict[str, Any]:
        xy, excluded = read_umap(ds, umap_id), excluded_of(ds, source)
        space = _clustering_space(ds, source, xy, params, excluded)
        found = cluster_stage.cluster(space, params, levels=3)
        assigned, raw = cluster_stage.with_left_out(found, excluded)
        map_id = umap_id
        if params.redraws_map() and can_redraw(source):
            map_id = redraw(ds, umap_id, assigned, float(params.map_target_weight or 0), fp).id
            xy = read_umap(ds, map_id)
        pd.DataFrame({"cluster": assigned, "raw_cluster": raw}).to_parquet(staging.path(TABLE), index=False)
        summary = cluster_stage.summarize(xy, assigned, raw)
        summary.to_parquet(staging.path(DEFAULT_LABELS), index=False)
        unclustered = np.isin(assigned, summary.loc[summary["noise"], "cluster"])  # assigned noise rows are coloured
        staging.path(THUMBNAIL).write_bytes(render_png(xy, assigned, unclustered))
        return {
            "umap_id": map_id,  # the map the clusters are drawn on: the input map, or that map redrawn
            "embedding_id": source.embedding_id,
            **params_record(params),
            "dataset": ds.name,
            "inputs": {umap_id: source.fingerprint},
            "rows": len(xy),
            "n_clusters": int((~summary["noise"]).sum()),
            "noise_share": round(cluster_stage.noise_share(found.raw), 4),  # of the rows clustered
            "excluded_rows": int(excluded.sum()),
            **cluster_stage.shape(assigned, summary),
            "map_coherence": round(map_quality.coherence(xy, assigned, unclustered), 4),
            "hierarchy": [{str(k): v for k, v in level.items()} for level in found.hierarchy],
        }

    return produce(ds, CLUSTER.name, fp, build, packages=["hdbscan", "fast-hdbscan"])


def _clustering_space(
    ds: Dataset, umap: UmapSidecar, xy: np.ndarray, params: cluster_stage.ClusterParams, excluded: np.ndarray
) -> np.ndarray:
    """What HDBSCAN runs on (params.cluster_on), for the rows the map was fitted on; a 10D UMAP reuses the map's
    neighbour graph from the kNN cache."""
    embedding: EmbeddingSidecar = ds.sidecar(EMBEDDING.name, umap.embedding_id)
    key = knn_key(embedding.fingerprint, excluded)
    knn = KnnCache.in_data_dir(ds.path.parent, key, umap_stage.knn_graph)
    vectors = lambda: read_embeddings(ds, embedding.id)[~excluded]  # noqa: E731
    return cluster_stage.clustering_space(params, xy[~excluded], vectors, layout_params(umap), knn)


def read_clusters(ds: Dataset, cluster_id: str) -> pd.DataFrame:
    ds.sidecar(CLUSTER.name, cluster_id)
    return read_stored_table(ds.file(CLUSTER, cluster_id, TABLE))


def read_default_labels(ds: Dataset, cluster_id: str) -> pd.DataFrame:
    return read_stored_table(ds.file(CLUSTER, cluster_id, DEFAULT_LABELS))


def require_clustering_checks(artifact: Artifact, checks: cluster_stage.ClusterChecks) -> None:
    problems = cluster_stage.check_clustering(artifact.sidecar.n_clusters, artifact.sidecar.noise_share, checks)
    if problems:
        way = cluster_stage.way_out(artifact.sidecar.rows, int(artifact.sidecar.params.get("min_cluster_size", 0)))
        raise UserError(f"{artifact.id} fails the recipe's cluster checks ({'; '.join(problems)}); {way}")
