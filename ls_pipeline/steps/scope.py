"""Scope through the data directory: the parquet and JSON Latent Scope's viewer (and ours) open."""

from __future__ import annotations

import dataclasses
from typing import Any

from ls_pipeline.errors import UserError
from ls_pipeline.stages import scope as scope_stage
from ls_pipeline.steps import changes
from ls_pipeline.steps.cluster import read_clusters
from ls_pipeline.steps.label import read_labels, read_levels
from ls_pipeline.steps.umap import excluded_of, read_umap
from ls_pipeline.store.artifacts import Artifact, Staging, produce
from ls_pipeline.store.datadir import Dataset
from ls_pipeline.store.fingerprint import fingerprint
from ls_pipeline.store.layout import DELETED, SCOPE, TABLE
from ls_pipeline.store.sidecars import LabelsSidecar

LATENT_SCOPE_FORMAT = "1.0.0"


def scope(ds: Dataset, labels_id: str, params: scope_stage.ScopeParams) -> Artifact:
    labels_meta: LabelsSidecar = ds.sidecar("labels", labels_id)
    embedding_id, umap_id, cluster_id = labels_meta.lineage()
    # Latent Scope's scope JSON embeds a copy of each input's sidecar, under these keys
    sources = {
        "embedding": ds.sidecar("embedding", embedding_id),
        "umap": ds.sidecar("umap", umap_id),
        "cluster": ds.sidecar("cluster", cluster_id),
        "cluster_labels": labels_meta,
    }
    inputs = {s.id: s.fingerprint for s in sources.values()}
    previous = changes.previous_scope(ds, params.label, cluster_id)
    if previous is not None:  # what the refresh is compared with is an input: its colours and labels carry over
        inputs[previous.id] = previous.fingerprint
    fp = fingerprint("scope", scope_stage.CODE_VERSION, dataclasses.asdict(params), inputs)

    def build(staging: Staging) -> dict[str, Any]:
        labels, shown_id, carried = read_labels(ds, labels_id), labels_id, {}
        assigned = read_clusters(ds, cluster_id)
        excluded = excluded_of(ds, sources["umap"])
        if previous is not None:
            made = changes.carry_over(ds, previous, labels_id, assigned["cluster"].to_numpy(), excluded)
            labels, shown_id, carried = made.labels, made.labels_id, made.record
        rows = scope_stage.scope_rows(
            read_umap(ds, umap_id), assigned["cluster"].to_numpy(), assigned["raw_cluster"].to_numpy(), labels
        )
        if excluded.any():  # placed on the map but hidden, as a row a curator removed is
            rows[DELETED] = excluded
        rows.to_parquet(staging.path(TABLE), index=False)
        return {
            **dataclasses.asdict(params),
            "dataset": ds.meta(),  # Latent Scope's explore page reads the dataset's columns from the scope's copy
            "embedding_id": embedding_id,
            "umap_id": umap_id,
            "cluster_id": cluster_id,
            "cluster_labels_id": shown_id,
            **{key: dict(sidecar.raw) for key, sidecar in sources.items()},
            "cluster_labels": dict(ds.sidecar("labels", shown_id).raw),
            "cluster_labels_lookup": scope_stage.cluster_lookup(labels),
            "cluster_levels_lookup": scope_stage.cluster_lookup(read_levels(ds, labels_id)),
            **carried,
            "rows": len(rows),
            "excluded_rows": int(excluded.sum()),
            **({"removed": int(excluded.sum())} if excluded.any() else {}),
            "inputs": inputs,
            # The Latent Scope version whose files this scope matches: its explore page compares it as a semver
            # (older: "Outdated Scope"; not a version: the page fails). Our own version is in "versions".
            "ls_version": LATENT_SCOPE_FORMAT,
        }

    return produce(ds, SCOPE.name, fp, build)


def check_chain(ds: Dataset, embedding_id: str, umap_id: str, cluster_id: str, labels_id: str) -> None:
    """The Latent Scope form of ls-scope names every id: they must belong to one line of descent."""
    actual = ds.sidecar("labels", labels_id).lineage()
    drawn_from = ds.sidecar("umap", actual[1]).raw.get("redrawn_from")  # the map the clustering was given
    given = (embedding_id, umap_id, cluster_id)
    if given not in (actual, (actual[0], drawn_from, actual[2])):
        raise UserError(
            f"{labels_id} was made from {' -> '.join(actual)}, not {embedding_id} -> {umap_id} -> "
            f"{cluster_id}; pass only the labels id to use its own lineage"
        )
