"""The blocking check on clusters: cluster count and noise share within the recipe's limits, before labeling."""

from __future__ import annotations

import dagster as dg

from ls_pipeline.stages.cluster import ClusterChecks, check_clustering
from ls_pipeline.store.artifacts import Artifact

CLUSTER_LIMITS = dg.AssetCheckSpec(
    "cluster_limits",
    asset="clusters",
    blocking=True,  # a failed check stops labels and scope in the same run
    description="Cluster count and noise share within the limits of the recipe's `checks` section",
)


def cluster_limits(artifact: Artifact, limits: ClusterChecks) -> dg.AssetCheckResult:
    n_clusters, noise = artifact.sidecar.n_clusters, artifact.sidecar.noise_share
    problems = check_clustering(n_clusters, noise, limits)
    return dg.AssetCheckResult(
        check_name=CLUSTER_LIMITS.name,
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(problems) or "within the recipe's limits",
        metadata={
            "cluster_id": artifact.id,
            "n_clusters": n_clusters,
            "noise_share": noise,
            "max_noise_share": limits.max_noise_share,
            "min_clusters": limits.min_clusters,
            "max_clusters": limits.max_clusters,
        },
    )
