"""Checks on clusters before labeling: limits that stop the run (cluster_limits) and a warning (cluster_shape)."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from ls_pipeline.stages.cluster import ClusterChecks, check_clustering, way_out
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
    if problems:  # the figures, then what to change: the check's description is the line a user reads
        problems.append(way_out(artifact.sidecar.rows, int(artifact.sidecar.params.get("min_cluster_size", 0))))
    return _verdict(
        CLUSTER_LIMITS,
        problems or "within the recipe's limits",
        {
            "cluster_id": artifact.id,
            "n_clusters": n_clusters,
            "noise_share": noise,
            "max_noise_share": limits.max_noise_share,
            "min_clusters": limits.min_clusters,
            "max_clusters": limits.max_clusters,
        },
    )


def failed_check_line(asset: str, check_name: str, description: str | None) -> str:
    """The one line a user reads for a failed blocking check: the figures against the limits, and the way out."""
    return f"{asset} check {check_name} failed: {description}"


def blocking_failure(results: Sequence[dg.AssetCheckResult]) -> str | None:
    """The line of the first failed blocking check among `results`, None if none failed."""
    for result in results:
        if not result.passed and result.severity == dg.AssetCheckSeverity.ERROR:
            asset = result.asset_key or CLUSTER_LIMITS.asset_key  # a result from its own asset may name none
            return failed_check_line(asset.to_user_string(), result.check_name or "", result.description)
    return None


def _verdict(spec: dg.AssetCheckSpec, problems: list[str] | str, metadata: dict[str, object]) -> dg.AssetCheckResult:
    """Passed when there are no problems (a string is the passing description); blocking checks are errors."""
    failed = isinstance(problems, list)
    return dg.AssetCheckResult(
        check_name=spec.name,
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR if spec.blocking else dg.AssetCheckSeverity.WARN,
        description="; ".join(problems) if failed else problems,
        metadata=metadata,
    )


CLUSTER_SHAPE = dg.AssetCheckSpec(
    "cluster_shape",
    asset="clusters",
    blocking=False,  # a warning: the map may still be worth a look, but a team should see it before labeling
    description="No cluster above warn_largest_share of the rows, at most warn_noise_share left unclustered on the map",
)


def cluster_shape(artifact: Artifact, limits: ClusterChecks) -> dg.AssetCheckResult:
    largest, unclustered = artifact.sidecar.largest_share, artifact.sidecar.unclustered_share
    problems = shape_problems(largest, unclustered, limits)
    return _verdict(
        CLUSTER_SHAPE,
        problems or "no dominant cluster, few rows unclustered",
        {
            "cluster_id": artifact.id,
            "largest_share": largest if largest is not None else "not recorded",
            "unclustered_share": unclustered if unclustered is not None else "not recorded",
            "noise_share": artifact.sidecar.noise_share,  # HDBSCAN's own, before noise rows were assigned
            "warn_largest_share": limits.warn_largest_share,
            "warn_noise_share": limits.warn_noise_share,
        },
    )


def specs_for(clusters: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    """The clusters checks of a clusters asset under another key (a component's prefix)."""
    return [
        dg.AssetCheckSpec(spec.name, asset=clusters, blocking=spec.blocking, description=spec.description)
        for spec in (CLUSTER_LIMITS, CLUSTER_SHAPE)
    ]


def shape_problems(largest: float | None, unclustered: float | None, limits: ClusterChecks) -> list[str]:
    problems = []
    if largest is not None and largest > limits.warn_largest_share:
        problems.append(
            f"the largest cluster holds {largest:.0%} of the rows (warn_largest_share {limits.warn_largest_share})"
        )
    if unclustered is not None and unclustered > limits.warn_noise_share:
        problems.append(
            f"{unclustered:.0%} of the rows are unclustered on the map (warn_noise_share {limits.warn_noise_share})"
        )
    return problems
