"""A private copy of the session's built sample, re-clustered finer so that there are topics to merge."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ls_pipeline import steps
from ls_pipeline.stages.cluster import ClusterParams
from ls_pipeline.store import DataDir


def fine_copy(built_data: dict[str, Any], root: Path) -> tuple[DataDir, str]:
    """(data dir, cluster id): the sample's embedding and UMAP, clustered with min_cluster_size 5, noise kept."""
    shutil.copytree(built_data["root"], root, ignore=shutil.ignore_patterns("*-labels-0*", "scopes"))
    data = DataDir(root)
    artifact = steps.cluster(data.dataset("sample"), built_data["ids"]["umap"], ClusterParams(5, 2, assign_noise=False))
    assert artifact.sidecar["n_clusters"] >= 6, "the sample should split into several clusters"
    return data, artifact.id
