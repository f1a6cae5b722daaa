"""Cluster through the data directory: HDBSCAN on a map, its default labels table and thumbnail, and the checks."""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from ls_pipeline.errors import UserError
from ls_pipeline.stages import cluster as cluster_stage
from ls_pipeline.stages.thumbnail import render_png
from ls_pipeline.steps.umap import read_umap
from ls_pipeline.store.artifacts import Artifact, Staging, produce
from ls_pipeline.store.datadir import Dataset
from ls_pipeline.store.fingerprint import fingerprint
from ls_pipeline.store.layout import CLUSTER, DEFAULT_LABELS, TABLE, THUMBNAIL
from ls_pipeline.store.sidecars import UmapSidecar, params_record


def cluster(ds: Dataset, umap_id: str, params: cluster_stage.ClusterParams) -> Artifact:
    source: UmapSidecar = ds.sidecar("umap", umap_id)
    fp = fingerprint("cluster", cluster_stage.CODE_VERSION, dataclasses.asdict(params), {umap_id: source.fingerprint})

    def build(staging: Staging) -> dict[str, Any]:
        xy = read_umap(ds, umap_id)
        assigned, raw = cluster_stage.cluster_points(xy, params)
        pd.DataFrame({"cluster": assigned, "raw_cluster": raw}).to_parquet(staging.path(TABLE), index=False)
        summary = cluster_stage.summarize(xy, assigned, raw)
        summary.to_parquet(staging.path(DEFAULT_LABELS), index=False)
        staging.path(THUMBNAIL).write_bytes(render_png(xy, assigned, raw < 0))
        return {
            "umap_id": umap_id,
            "embedding_id": source.embedding_id,
            **params_record(params),
            "dataset": ds.name,
            "inputs": {umap_id: source.fingerprint},
            "rows": len(xy),
            "n_clusters": int((~summary["noise"]).sum()),
            "noise_share": round(cluster_stage.noise_share(raw), 4),
        }

    return produce(ds, CLUSTER.name, fp, build, packages=["hdbscan", "fast-hdbscan"])


def read_clusters(ds: Dataset, cluster_id: str) -> pd.DataFrame:
    ds.sidecar(CLUSTER.name, cluster_id)
    return pd.read_parquet(ds.file(CLUSTER, cluster_id, TABLE))


def read_default_labels(ds: Dataset, cluster_id: str) -> pd.DataFrame:
    return pd.read_parquet(ds.file(CLUSTER, cluster_id, DEFAULT_LABELS))


def require_clustering_checks(artifact: Artifact, checks: cluster_stage.ClusterChecks) -> None:
    problems = cluster_stage.check_clustering(artifact.sidecar.n_clusters, artifact.sidecar.noise_share, checks)
    if problems:
        raise UserError(
            f"{artifact.id} fails the recipe's cluster checks ({'; '.join(problems)}); "
            "change the recipe's cluster parameters or its checks"
        )
