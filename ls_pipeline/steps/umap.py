"""UMAP through the data directory: a fresh layout (its kNN graph cached), or new rows placed on an earlier map."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import numpy as np
import pandas as pd

from ls_pipeline.stages import align
from ls_pipeline.stages import umap as umap_stage
from ls_pipeline.stages.thumbnail import render_png
from ls_pipeline.steps import exclusions
from ls_pipeline.steps.embed import read_embeddings
from ls_pipeline.store.artifacts import Artifact, Staging, produce
from ls_pipeline.store.datadir import Dataset
from ls_pipeline.store.files import read_stored_table
from ls_pipeline.store.fingerprint import fingerprint
from ls_pipeline.store.knn_cache import KnnCache
from ls_pipeline.store.layout import TABLE, THUMBNAIL, UMAP
from ls_pipeline.store.sidecars import EmbeddingSidecar, UmapSidecar, params_record

log = logging.getLogger(__name__)
PACKAGES = ["umap-learn", "numba"]


def umap(ds: Dataset, embedding_id: str, params: umap_stage.UmapParams) -> Artifact:
    """A fresh UMAP layout, or (unless params.fresh_layout) the dataset's earlier map with its new rows placed on it."""
    source: EmbeddingSidecar = ds.sidecar("embedding", embedding_id)
    base = None if params.fresh_layout else _earlier_map(ds, embedding_id, source, params)
    if base is not None:
        placed = _place_on(ds, embedding_id, source, params, base)
        if placed is not None:
            return placed
    # Latent Scope's sidecars do not count rows: its embeddings hold one vector per row of the dataset
    rows = source.rows or int(ds.meta()["length"])
    excluded = exclusions.excluded_mask(ds, rows)
    fields = {**params.layout_fields(int(rows - excluded.sum())), **_exclusion_fields(excluded)}
    fp = fingerprint("umap", umap_stage.CODE_VERSION, fields, {embedding_id: source.fingerprint})
    knn = KnnCache.in_data_dir(ds.path.parent, knn_key(source.fingerprint, excluded), umap_stage.knn_graph)

    def build(staging: Staging) -> dict[str, Any]:
        xy = umap_stage.project_without(read_embeddings(ds, embedding_id), excluded, params, knn)
        layout = _write_layout(staging, xy, ds, embedding_id, source, params)
        # fit_sampled: fitted on params.fit_sample rows, the rest transformed (then no kNN graph was used);
        # knn_method: exact or nndescent, for a graph computed apart (null: UMAP's own exact neighbours, small data)
        fitted = {"knn_reused": knn.reused, "knn_method": knn.method, "fit_sampled": "fit_sample" in fields}
        return {**layout, **fitted, **exclusion_record(ds, excluded)}

    return produce(ds, UMAP.name, fp, build, packages=PACKAGES)


def _write_layout(
    staging: Staging, xy: np.ndarray, ds: Dataset, embedding_id: str, source: EmbeddingSidecar, params: Any
) -> dict[str, Any]:
    pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]}).to_parquet(staging.path(TABLE), index=False)
    staging.path(THUMBNAIL).write_bytes(render_png(xy))
    return {
        "embedding_id": embedding_id,
        **params_record(params),
        "dataset": ds.name,
        "inputs": {embedding_id: source.fingerprint},
        "rows": len(xy),
    }


def _earlier_map(
    ds: Dataset, embedding_id: str, source: EmbeddingSidecar, params: umap_stage.UmapParams
) -> UmapSidecar | None:
    """The newest map of this dataset made with the same layout parameters from the same model, on earlier rows."""
    embeddings: dict[str, EmbeddingSidecar] = {s.id: s for s in ds.sidecars("embedding")}
    for candidate in reversed(list(ds.sidecars("umap"))):
        earlier = candidate.embedding_id
        if candidate.foreign or earlier == embedding_id or earlier not in embeddings:  # Latent Scope's maps: not ours
            continue
        same_layout = all(candidate.raw.get(k) == v for k, v in params.layout_fields().items())  # fit_sample aside
        if same_layout and embeddings[earlier].same_model(source):
            return candidate
    return None


def _place_on(
    ds: Dataset, embedding_id: str, source: EmbeddingSidecar, params: umap_stage.UmapParams, base: UmapSidecar
) -> Artifact | None:
    """Rows whose vector is unchanged keep their point; the others are placed on the map, or (more than
    params.refit_share of them) the map is refitted and aligned onto this one. None when too few rows are left to
    align on (a re-ingest that replaced the rows): such a dataset gets a fresh layout instead."""
    vectors, earlier = read_embeddings(ds, embedding_id), read_embeddings(ds, base.embedding_id)
    base_xy = read_umap(ds, base.id)
    n = min(len(vectors), len(earlier), len(base_xy))
    kept = np.zeros(len(vectors), dtype=bool)
    kept[:n] = np.all(vectors[:n] == earlier[:n], axis=1)  # one text, one cached vector: equal means unchanged
    if kept.sum() <= params.neighbors:
        log.info("most rows changed since %s: laying out every row afresh", base.id)
        return None
    if (~kept).mean() > params.refit_share:
        log.info("%d of %d rows are new since %s: refitting, aligned onto it", (~kept).sum(), len(kept), base.id)
        return _refit_onto(ds, embedding_id, source, params, base, kept, base_xy[:n], vectors)
    excluded = exclusions.excluded_mask(ds, len(vectors))
    fields = {**params.layout_fields(), "placed_on": base.fingerprint, "place_version": umap_stage.PLACE_VERSION}
    fp = fingerprint(
        "umap", umap_stage.CODE_VERSION, fields | _exclusion_fields(excluded), {embedding_id: source.fingerprint}
    )

    def build(staging: Staging) -> dict[str, Any]:
        xy = np.zeros((len(vectors), 2), dtype=np.float32)
        xy[kept] = base_xy[:n][kept[:n]]
        if (~kept).any():  # placed among the rows the map was fitted on, not among excluded ones
            reference = kept & ~excluded
            xy[~kept] = umap_stage.place(vectors[~kept], vectors[reference], xy[reference], params)
        log.info("placed %d new or changed rows on %s; %d rows kept their points", (~kept).sum(), base.id, n)
        layout = _write_layout(staging, xy, ds, embedding_id, source, params)
        placed = {"placed_on": base.id, "placed_rows": int((~kept).sum()), "kept_rows": int(kept.sum())}
        return {**layout, **placed, **exclusion_record(ds, excluded)}

    return produce(ds, UMAP.name, fp, build, packages=PACKAGES)


def _refit_onto(
    ds: Dataset,
    embedding_id: str,
    source: EmbeddingSidecar,
    params: umap_stage.UmapParams,
    base: UmapSidecar,
    kept: np.ndarray,
    base_xy: np.ndarray,
    vectors: np.ndarray,
) -> Artifact:
    """A fresh fit started from `base`'s points (new rows from where placing would put them), then rigidly aligned
    onto `base` on the rows both hold (`kept`): shared rows move only as far as the new fit needs."""
    excluded = exclusions.excluded_mask(ds, len(vectors))
    fit = ~excluded
    fields = {**params.layout_fields(int(fit.sum())), **_exclusion_fields(excluded)}
    fields |= {"aligned_to": base.fingerprint, "align_version": umap_stage.ALIGN_VERSION}
    fp = fingerprint("umap", umap_stage.CODE_VERSION, fields, {embedding_id: source.fingerprint})
    knn = KnnCache.in_data_dir(ds.path.parent, knn_key(source.fingerprint, excluded), umap_stage.knn_graph)

    def build(staging: Staging) -> dict[str, Any]:
        old = np.full((len(vectors), 2), np.nan, dtype=np.float32)
        old[: len(base_xy)][kept[: len(base_xy)]] = base_xy[kept[: len(base_xy)]]
        shared, start = kept & fit, old.copy()
        if (fit & ~kept).any():
            start[fit & ~kept] = umap_stage.place(vectors[fit & ~kept], vectors[shared], old[shared], params)
        xy = np.zeros_like(old)
        xy[fit] = umap_stage.refit_from(vectors[fit], start[fit], params, knn)
        xy[fit] = align.rigid_onto(xy[fit], old[fit], np.flatnonzero(shared[fit]))
        if excluded.any():
            xy[excluded] = umap_stage.place(vectors[excluded], vectors[fit], xy[fit], params)
        moved = align.displacement(xy[shared], old[shared])
        layout = _write_layout(staging, xy, ds, embedding_id, source, params)
        aligned = {"aligned_to": base.id, "shared_rows": int(shared.sum()), "refit_rows": int((fit & ~kept).sum())}
        aligned["median_shift"] = round(float(np.median(moved)), 4) if len(moved) else None
        return {**layout, **aligned, "knn_method": knn.method, **exclusion_record(ds, excluded)}

    return produce(ds, UMAP.name, fp, build, packages=PACKAGES)


def redraw(ds: Dataset, umap_id: str, targets: np.ndarray, weight: float, targets_fingerprint: str) -> Artifact:
    """The map `umap_id` laid out again from the same vectors and neighbour graph with `targets` (a cluster per row)
    as UMAP targets at `weight`. `targets_fingerprint` names the targets (the
    clustering's fingerprint). The new map's sidecar records the same layout parameters, so rows added later are
    placed on it, the map the user saw."""
    source: UmapSidecar = ds.sidecar(UMAP.name, umap_id)
    embedding: EmbeddingSidecar = ds.sidecar("embedding", source.embedding_id)
    params = layout_params(source)
    fields = {**params.layout_fields(source.rows), "redraw_version": umap_stage.REDRAW_VERSION}
    fields |= {"target_weight": weight, "targets": targets_fingerprint}
    fp = fingerprint("umap", umap_stage.CODE_VERSION, fields, {umap_id: source.fingerprint})
    excluded = excluded_of(ds, source)
    knn = KnnCache.in_data_dir(ds.path.parent, knn_key(embedding.fingerprint, excluded), umap_stage.knn_graph)

    def build(staging: Staging) -> dict[str, Any]:
        vectors, kept = read_embeddings(ds, embedding.id), ~excluded
        xy = np.zeros((len(vectors), 2), dtype=np.float32)
        xy[kept] = umap_stage.project_with_targets(vectors[kept], params, targets[kept], weight, knn)
        if excluded.any():
            xy[excluded] = umap_stage.place(vectors[excluded], vectors[kept], xy[kept], params)
        layout = _write_layout(staging, xy, ds, embedding.id, embedding, params)
        carried = {k: source.raw.get(k) for k in ("exclusions_id", "excluded_rows", "fit_rows")}
        drawn = {"inputs": {umap_id: source.fingerprint}, "redrawn_from": umap_id, "target_weight": weight}
        return {**layout, **drawn, **carried}

    return produce(ds, UMAP.name, fp, build, packages=PACKAGES)


def _exclusion_fields(excluded: np.ndarray) -> dict[str, str]:
    """What the fingerprint holds of the exclusions: nothing without any (earlier fingerprints stay valid)."""
    return {"excluded": exclusions.rows_hash(np.flatnonzero(excluded))} if excluded.any() else {}


def knn_key(embedding_fingerprint: str, excluded: np.ndarray) -> str:
    """The neighbour graph cache's key: the embedding's, and the rows left out of the fit."""
    return (
        f"{embedding_fingerprint}-x{exclusions.rows_hash(np.flatnonzero(excluded))}"
        if excluded.any()
        else (embedding_fingerprint)
    )


def exclusion_record(ds: Dataset, excluded: np.ndarray) -> dict[str, Any]:
    """The sidecar's note of the rows left out of the fit (the clustering reads them from here)."""
    version = exclusions.current(ds)
    return {
        "exclusions_id": version.id if version is not None and excluded.any() else None,
        "excluded_rows": int(excluded.sum()),
        "fit_rows": int((~excluded).sum()),
    }


def excluded_of(ds: Dataset, source: UmapSidecar) -> np.ndarray:
    """The rows a map was fitted without (a boolean per row): the exclusion version its sidecar names."""
    mask = np.zeros(source.rows, dtype=bool)
    version = source.raw.get("exclusions_id")
    if version:
        rows = exclusions.read_excluded(ds, version)
        mask[rows[rows < source.rows]] = True
    return mask


def can_redraw(source: UmapSidecar) -> bool:
    """A fresh layout of a size UMAP lays out whole: a map with rows placed on it keeps every point where it was, a
    map aligned onto an earlier one keeps its registration, and a sampled one would need its transform to follow the
    targets too."""
    return "placed_on" not in source and "aligned_to" not in source and not source.raw.get("fit_sampled", False)


def layout_params(source: UmapSidecar) -> umap_stage.UmapParams:
    """The layout parameters a map was made with (its sidecar's params)."""
    fields = {f.name for f in dataclasses.fields(umap_stage.UmapParams)}
    return umap_stage.UmapParams(**{k: v for k, v in source.params.items() if k in fields})


def read_umap(ds: Dataset, umap_id: str) -> np.ndarray:
    ds.sidecar(UMAP.name, umap_id)
    return read_stored_table(ds.file(UMAP, umap_id, TABLE))[["x", "y"]].to_numpy(np.float32)
