"""Each stage run through the data directory: read inputs, call the pure stage, publish the artifact.

The CLI, the Python API and the Dagster assets all call these functions, so they write the same files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
from tqdm import tqdm

from ls_pipeline import labeling
from ls_pipeline.errors import UserError
from ls_pipeline.models import chat as chat_models
from ls_pipeline.models.chat_runner import ChatSettings, Journal
from ls_pipeline.models.embedding import embedder_revision, load_embedder
from ls_pipeline.stages import cluster as cluster_stage
from ls_pipeline.stages import embed as embed_stage
from ls_pipeline.stages import ingest as ingest_stage
from ls_pipeline.stages import label as label_stage
from ls_pipeline.stages import project as project_stage
from ls_pipeline.stages import scope as scope_stage
from ls_pipeline.stages.thumbnail import render_png
from ls_pipeline.store import atomic
from ls_pipeline.store.artifacts import Artifact, Staging, now_iso, produce
from ls_pipeline.store.datadir import DataDir, Dataset
from ls_pipeline.store.fingerprint import fingerprint
from ls_pipeline.store.knn_cache import KnnCache
from ls_pipeline.store.vector_cache import VectorCache, text_keys

log = logging.getLogger(__name__)


# ---- ingest ----------------------------------------------------------------------------------------------------------


def ingest(
    data: DataDir,
    name: str,
    frame: pd.DataFrame,
    params: ingest_stage.IngestParams,
    source: str = "dataframe",
    upsert_key: str | None = None,
) -> dict[str, Any]:
    """Write input.parquet and meta.json for a dataset. Re-ingesting identical rows changes nothing.

    With `upsert_key`, rows merge into the stored ones by that column (stored rows keep their ls_index) and the
    batch is recorded in imports.json; without it, the new rows replace the stored ones.
    """
    ds = data.dataset(name, must_exist=False)
    batch = {"source": source, "rows": len(frame)}
    if upsert_key and ds.input_path.is_file():
        frame, batch["added"], batch["changed"] = ingest_stage.upsert(pd.read_parquet(ds.input_path), frame, upsert_key)
    rows, text_column, empty = ingest_stage.prepare(frame, params)
    if empty:
        log.warning("%d of %d rows have an empty %r; they are kept as empty texts", empty, len(rows), text_column)
    buffer = io.BytesIO()
    rows.to_parquet(buffer, index=False)
    digest = hashlib.sha256(buffer.getvalue()).hexdigest()[:20]
    ds.path.mkdir(parents=True, exist_ok=True)
    with ds.lock():
        if ds.meta_path.is_file() and ds.input_path.is_file() and ds.meta().get("fingerprint") == digest:
            log.info("dataset %r is unchanged (same rows); nothing rewritten", name)
            if upsert_key:  # the manifest still records that this import happened (and changed nothing)
                _record_import(ds, {**batch, "added": 0, "total": len(rows), "fingerprint": digest})
            return ds.meta()
        meta = {
            "id": name,
            "length": len(rows),
            "columns": list(rows.columns),
            "text_column": text_column,
            "column_metadata": ingest_stage.profile_columns(rows),
            "empty_texts": empty,
            "source": source,
            "fingerprint": digest,
            "ingested_at": now_iso(),
            "code_version": ingest_stage.CODE_VERSION,
        }
        atomic.write_bytes(ds.input_path, buffer.getvalue())
        if upsert_key:
            batch.setdefault("added", len(rows))
            _record_import(ds, {**batch, "total": len(rows), "fingerprint": digest})
        atomic.write_json(ds.meta_path, meta)
    return meta


def _record_import(ds: Dataset, batch: dict[str, Any]) -> None:
    manifest = ds.path / "imports.json"
    batches = json.loads(manifest.read_text()) if manifest.is_file() else []
    atomic.write_json(manifest, [*batches, {**batch, "imported_at": now_iso()}])


def read_texts(ds: Dataset, column: str | None = None) -> list[str]:
    meta = ds.meta()
    column = column or meta["text_column"]
    if column not in meta["columns"]:
        raise UserError(f"unknown text column {column!r} in dataset {ds.name!r}; columns: {', '.join(meta['columns'])}")
    texts = pd.read_parquet(ds.input_path, columns=[column])[column]
    return texts.astype("string").fillna("").astype(str).tolist()


# ---- embed -----------------------------------------------------------------------------------------------------------


def embed(ds: Dataset, params: embed_stage.EmbedParams) -> Artifact:
    meta = ds.meta()
    text_column = params.text_column or meta["text_column"]
    params = dataclasses.replace(params, text_column=text_column)
    revision = embedder_revision(params.model_id, params.quantize)
    fp = fingerprint(
        "embed",
        embed_stage.CODE_VERSION,
        {**params.fingerprint_fields(), "revision": revision},
        {"dataset": meta["fingerprint"]},
    )

    def build(staging: Staging) -> dict[str, Any]:
        texts = read_texts(ds, text_column)
        embedder = load_embedder(params.model_id, params.quantize)
        cache = VectorCache.for_model(ds.path.parent, params.model_id, embedder.revision, embedder.dimensions)
        counts = _embed_resumable(staging.path(".h5"), texts, embedder, params, cache)
        return {
            "model_id": params.model_id,
            "revision": embedder.revision,
            "dimensions": embedder.dimensions,
            "prefix": params.prefix,
            "text_column": text_column,
            "batch_size": params.batch_size,
            "quantize": params.quantize,
            "params": dataclasses.asdict(params),
            "dataset": ds.name,
            "inputs": {"dataset": meta["fingerprint"]},
            "rows": len(texts),
            **counts,
        }

    return _announce(
        produce(ds, "embedding", fp, build, packages=["torch", "sentence-transformers", "onnxruntime"], resumable=True)
    )


def _embed_resumable(
    path: Path, texts: list[str], embedder: Any, params: embed_stage.EmbedParams, cache: VectorCache | None = None
) -> dict[str, int]:
    """Vectors go to HDF5 batch by batch, each row marked done as it is written, so a rerun after a crash
    embeds only the rows not done. Rows whose text is in the vector cache are copied, not embedded, and each
    distinct text is embedded once. Returns how many rows were embedded, copied from the cache, or resumed."""
    keys = text_keys(texts, params.prefix)
    with h5py.File(path, "a") as handle:
        vectors, done = _resume_state(handle, len(texts), embedder.dimensions)
        resumed = int(done.sum())
        if resumed:
            log.info("resuming embedding: %d of %d rows already done", resumed, len(texts))

        def write(rows: np.ndarray, batch: np.ndarray) -> None:
            vectors[rows] = batch
            done[rows] = True
            handle["done"][rows] = True
            handle.flush()

        cached = len(cache.fill(keys, np.flatnonzero(~done), write)) if cache else 0
        if cached:
            log.info("%d of %d rows found in the vector cache; not embedded again", cached, len(texts))
        todo = np.flatnonzero(~done)
        firsts, rows_of = _distinct(keys, todo)
        embedded: list[int] = []
        progress = tqdm(total=len(firsts), unit="texts", desc="embed", disable=None)
        try:
            for positions, batch in embed_stage.embed_batches([texts[i] for i in firsts], embedder, params):
                batch_keys = [keys[firsts[p]] for p in positions]
                targets = np.concatenate([rows_of[k] for k in batch_keys])
                source = np.repeat(np.arange(len(batch_keys)), [len(rows_of[k]) for k in batch_keys])
                order = np.argsort(targets)
                write(targets[order], batch[source[order]])
                embedded.extend(firsts[p] for p in positions)
                progress.update(len(positions))
        finally:
            progress.close()
            if cache and embedded:  # also after a crash: what was embedded is never embedded again
                cache.add([keys[r] for r in embedded], vectors, np.array(embedded))
    return {"rows_embedded": len(firsts), "rows_from_cache": cached, "rows_resumed": resumed}


def _distinct(keys: list[bytes], rows: np.ndarray) -> tuple[list[int], dict[bytes, np.ndarray]]:
    """The first row of each distinct text among `rows`, and every row holding each text."""
    grouped: dict[bytes, list[int]] = {}
    for row in rows.tolist():
        grouped.setdefault(keys[row], []).append(row)
    return [r[0] for r in grouped.values()], {k: np.array(r, dtype=np.int64) for k, r in grouped.items()}


def _resume_state(handle: h5py.File, rows: int, dimensions: int) -> tuple[h5py.Dataset, np.ndarray]:
    existing, done = handle.get("embeddings"), handle.get("done")
    if existing is not None and done is not None and existing.shape == (rows, dimensions) and done.shape == (rows,):
        return existing, done[:]
    for name in ("embeddings", "done"):
        if name in handle:
            del handle[name]
    vectors = handle.create_dataset("embeddings", shape=(rows, dimensions), dtype="float32")
    handle.create_dataset("done", shape=(rows,), dtype="bool")
    return vectors, np.zeros(rows, dtype=bool)


def read_embeddings(ds: Dataset, embedding_id: str) -> np.ndarray:
    ds.sidecar("embedding", embedding_id)
    with h5py.File(ds.file("embedding", embedding_id, ".h5"), "r") as handle:
        return handle["embeddings"][:]


# ---- umap ------------------------------------------------------------------------------------------------------------


def umap(ds: Dataset, embedding_id: str, params: project_stage.UmapParams) -> Artifact:
    """A fresh UMAP layout, or (unless params.fresh_layout) the dataset's earlier map with its new rows placed on it."""
    source = ds.sidecar("embedding", embedding_id)
    base = None if params.fresh_layout else _earlier_map(ds, embedding_id, source, params)
    if base is not None:
        placed = _place_on(ds, embedding_id, source, params, base)
        if placed is not None:
            return placed
    fp = fingerprint("umap", project_stage.CODE_VERSION, params.layout_fields(), {embedding_id: source["fingerprint"]})
    knn = KnnCache(ds.path.parent / "_cache" / "knn", source["fingerprint"], project_stage.knn_graph)

    def build(staging: Staging) -> dict[str, Any]:
        xy = project_stage.project(read_embeddings(ds, embedding_id), params, knn)
        return {**_write_layout(staging, xy, ds, embedding_id, source, params), "knn_reused": knn.reused}

    return _announce(produce(ds, "umap", fp, build, packages=["umap-learn", "numba"]))


def _write_layout(
    staging: Staging, xy: np.ndarray, ds: Dataset, embedding_id: str, source: dict[str, Any], params: Any
) -> dict[str, Any]:
    pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]}).to_parquet(staging.path(".parquet"), index=False)
    staging.path(".png").write_bytes(render_png(xy))
    return {
        "embedding_id": embedding_id,
        **dataclasses.asdict(params),
        "params": dataclasses.asdict(params),
        "dataset": ds.name,
        "inputs": {embedding_id: source["fingerprint"]},
        "rows": len(xy),
    }


def _earlier_map(
    ds: Dataset, embedding_id: str, source: dict[str, Any], params: project_stage.UmapParams
) -> dict[str, Any] | None:
    """The newest map of this dataset made with the same layout parameters from the same model, on earlier rows."""
    embeddings = {s["id"]: s for s in ds.sidecars("embedding")}
    for candidate in reversed(list(ds.sidecars("umap"))):
        earlier = candidate.get("embedding_id")
        if earlier == embedding_id or earlier not in embeddings:
            continue
        same_layout = all(candidate.get(k) == v for k, v in params.layout_fields().items())
        same_model = all(
            embeddings[earlier].get(k) == source.get(k) for k in ("model_id", "revision", "prefix", "quantize")
        )
        if same_layout and same_model:
            return candidate
    return None


def _place_on(
    ds: Dataset, embedding_id: str, source: dict[str, Any], params: project_stage.UmapParams, base: dict[str, Any]
) -> Artifact | None:
    """Rows whose vector is unchanged keep their point; the others are placed on the map. None when most rows are
    new (a re-ingest that replaced the rows): such a dataset gets a fresh layout instead."""
    vectors, earlier = read_embeddings(ds, embedding_id), read_embeddings(ds, base["embedding_id"])
    base_xy = read_umap(ds, base["id"])
    n = min(len(vectors), len(earlier), len(base_xy))
    kept = np.zeros(len(vectors), dtype=bool)
    kept[:n] = np.all(vectors[:n] == earlier[:n], axis=1)  # one text, one cached vector: equal means unchanged
    if kept.sum() < len(vectors) / 2:
        log.info("most rows changed since %s: laying out every row afresh", base["id"])
        return None
    fields = {**params.layout_fields(), "placed_on": base["fingerprint"]}
    fp = fingerprint("umap", project_stage.CODE_VERSION, fields, {embedding_id: source["fingerprint"]})

    def build(staging: Staging) -> dict[str, Any]:
        xy = np.zeros((len(vectors), 2), dtype=np.float32)
        xy[kept] = base_xy[:n][kept[:n]]
        if (~kept).any():
            xy[~kept] = project_stage.place(vectors[~kept], vectors[kept], xy[kept], params)
        log.info("placed %d new or changed rows on %s; %d rows kept their points", (~kept).sum(), base["id"], n)
        layout = _write_layout(staging, xy, ds, embedding_id, source, params)
        return {**layout, "placed_on": base["id"], "placed_rows": int((~kept).sum()), "kept_rows": int(kept.sum())}

    return _announce(produce(ds, "umap", fp, build, packages=["umap-learn", "numba"]))


def read_umap(ds: Dataset, umap_id: str) -> np.ndarray:
    ds.sidecar("umap", umap_id)
    return pd.read_parquet(ds.file("umap", umap_id, ".parquet"))[["x", "y"]].to_numpy(np.float32)


# ---- cluster ---------------------------------------------------------------------------------------------------------


def cluster(ds: Dataset, umap_id: str, params: cluster_stage.ClusterParams) -> Artifact:
    source = ds.sidecar("umap", umap_id)
    fp = fingerprint(
        "cluster", cluster_stage.CODE_VERSION, dataclasses.asdict(params), {umap_id: source["fingerprint"]}
    )

    def build(staging: Staging) -> dict[str, Any]:
        xy = read_umap(ds, umap_id)
        found = cluster_stage.cluster(_clustering_space(ds, source, xy, params), params, levels=3)
        assigned, raw = found.cluster, found.raw
        pd.DataFrame({"cluster": assigned, "raw_cluster": raw}).to_parquet(staging.path(".parquet"), index=False)
        summary = cluster_stage.summarize(xy, assigned, raw)
        summary.to_parquet(staging.path("-labels-default.parquet"), index=False)
        unclustered = np.isin(assigned, summary.loc[summary["noise"], "cluster"])  # assigned noise rows are coloured
        staging.path(".png").write_bytes(render_png(xy, assigned, unclustered))
        clusters = int((~summary["noise"]).sum())
        return {
            "umap_id": umap_id,
            "embedding_id": source["embedding_id"],
            **dataclasses.asdict(params),
            "params": dataclasses.asdict(params),
            "dataset": ds.name,
            "inputs": {umap_id: source["fingerprint"]},
            "rows": len(xy),
            "n_clusters": clusters,
            "noise_share": round(cluster_stage.noise_share(raw), 4),
            **cluster_stage.shape(assigned, summary),
            "hierarchy": [{str(k): v for k, v in level.items()} for level in found.hierarchy],
        }

    return _announce(produce(ds, "cluster", fp, build, packages=["hdbscan", "fast-hdbscan"]))


def _clustering_space(ds: Dataset, umap: dict[str, Any], xy: np.ndarray, params: Any) -> np.ndarray:
    embedding = ds.sidecar("embedding", umap["embedding_id"])
    knn = KnnCache(ds.path.parent / "_cache" / "knn", embedding["fingerprint"], project_stage.knn_graph)
    fields = {f.name for f in dataclasses.fields(project_stage.UmapParams)}
    layout = project_stage.UmapParams(**{k: v for k, v in umap.get("params", {}).items() if k in fields})
    return cluster_stage.clustering_space(params, xy, lambda: read_embeddings(ds, embedding["id"]), layout, knn)


def read_clusters(ds: Dataset, cluster_id: str) -> pd.DataFrame:
    ds.sidecar("cluster", cluster_id)
    return pd.read_parquet(ds.file("cluster", cluster_id, ".parquet"))


# ---- label -----------------------------------------------------------------------------------------------------------


def label(ds: Dataset, cluster_id: str, params: label_stage.LabelParams, chat: ChatSettings | None = None) -> Artifact:
    """Keyword labels (offline), or a chat model's, at the cluster level and `params.levels` levels above.
    `chat` says how to call the model (concurrency, retries, timeouts); it never changes the result."""
    source = ds.sidecar("cluster", cluster_id)
    settings = chat or ChatSettings()
    text_column = params.text_column or ds.meta()["text_column"]
    params = dataclasses.replace(params, text_column=text_column)
    read_texts(ds, text_column)  # an unknown column fails here, before any model is called
    model = None if params.labeler == label_stage.KEYWORDS else chat_models.resolve(params.labeler, ds.path.parent)
    if model is not None:
        chat_models.api_key(model, ds.path.parent)  # a missing key fails now, not after the keyword work
    fields = {**dataclasses.asdict(params), "chat_model": model.public() if model else None}
    fp = fingerprint("label", label_stage.CODE_VERSION, fields, {cluster_id: source["fingerprint"]})

    def build(staging: Staging) -> dict[str, Any]:
        defaults = pd.read_parquet(ds.file("cluster", f"{cluster_id}-labels-default", ".parquet"))
        llm = None
        if model is not None:
            provider = chat_models.open_provider(model, ds.path.parent, settings.timeout_s)
            llm = labeling.Chat(provider, Journal(staging.path("-llm.jsonl")), settings)
        result = labeling.label_all(
            read_texts(ds, text_column),
            read_embeddings(ds, source["embedding_id"]),
            read_umap(ds, source["umap_id"]),
            read_clusters(ds, cluster_id)["cluster"].to_numpy(),
            defaults,
            params,
            llm,
            [{int(k): v for k, v in level.items()} for level in source.get("hierarchy", [])],
        )
        result.table.to_parquet(staging.path(".parquet"), index=False)
        result.levels.to_parquet(staging.path("-levels.parquet"), index=False)
        return {
            "cluster_id": cluster_id,
            "umap_id": source["umap_id"],
            "embedding_id": source["embedding_id"],
            **dataclasses.asdict(params),
            "params": dataclasses.asdict(params),
            "dataset": ds.name,
            "inputs": {cluster_id: source["fingerprint"]},
            **result.record,
        }

    sdk = [] if model is None else ["mistralai"] if model.provider == "mistral" else ["openai"]
    packages = ["scikit-learn", *sdk]
    artifact = produce(ds, "labels", fp, build, parent=cluster_id, packages=packages, resumable=model is not None)
    return _announce(artifact)


# ---- scope -----------------------------------------------------------------------------------------------------------


def scope(ds: Dataset, labels_id: str, params: scope_stage.ScopeParams) -> Artifact:
    labels_meta = ds.sidecar("labels", labels_id)
    cluster_id, umap_id, embedding_id = labels_meta["cluster_id"], labels_meta["umap_id"], labels_meta["embedding_id"]
    sources = {
        "embedding": ds.sidecar("embedding", embedding_id),
        "umap": ds.sidecar("umap", umap_id),
        "cluster": ds.sidecar("cluster", cluster_id),
        "cluster_labels": labels_meta,
    }
    inputs = {s["id"]: s["fingerprint"] for s in sources.values()}
    fp = fingerprint("scope", scope_stage.CODE_VERSION, dataclasses.asdict(params), inputs)

    def build(staging: Staging) -> dict[str, Any]:
        labels = pd.read_parquet(ds.file("labels", labels_id, ".parquet"))
        assigned = read_clusters(ds, cluster_id)
        rows = scope_stage.scope_rows(
            read_umap(ds, umap_id), assigned["cluster"].to_numpy(), assigned["raw_cluster"].to_numpy(), labels
        )
        rows.to_parquet(staging.path(".parquet"), index=False)
        return {
            **dataclasses.asdict(params),
            "dataset": ds.name,
            "embedding_id": embedding_id,
            "umap_id": umap_id,
            "cluster_id": cluster_id,
            "cluster_labels_id": labels_id,
            **sources,
            "cluster_labels_lookup": scope_stage.cluster_lookup(labels),
            "cluster_levels_lookup": scope_stage.cluster_lookup(_read_levels(ds, labels_id)),
            "rows": len(rows),
            "inputs": inputs,
            "ls_version": "ls-pipeline",
        }

    return _announce(produce(ds, "scope", fp, build))


def _read_levels(ds: Dataset, labels_id: str) -> pd.DataFrame:
    """The topics above the clusters (empty for labels made before levels existed)."""
    path = ds.file("labels", labels_id, "-levels.parquet")
    return pd.read_parquet(path) if path.is_file() else pd.DataFrame(columns=["level", "cluster", "label"])


def check_chain(ds: Dataset, embedding_id: str, umap_id: str, cluster_id: str, labels_id: str) -> None:
    """The Latent Scope form of ls-scope names every id: they must belong to one line of descent."""
    labels_meta = ds.sidecar("labels", labels_id)
    actual = (labels_meta["embedding_id"], labels_meta["umap_id"], labels_meta["cluster_id"])
    if actual != (embedding_id, umap_id, cluster_id):
        raise UserError(
            f"{labels_id} was made from {' -> '.join(actual)}, not {embedding_id} -> {umap_id} -> "
            f"{cluster_id}; pass only the labels id to use its own lineage"
        )


def _announce(artifact: Artifact) -> Artifact:
    if artifact.reused:
        log.info("reused %s: same inputs and parameters (fingerprint %s)", artifact.id, artifact.sidecar["fingerprint"])
    else:
        log.info("wrote %s in %.1fs", artifact.id, artifact.sidecar["wall_time_s"])
    return artifact


# ---- a whole recipe --------------------------------------------------------------------------------------------------


def run_recipe(ds: Dataset, recipe: Any) -> dict[str, Artifact]:
    """Every stage after ingest with one recipe; stages whose fingerprint exists are reused, not recomputed."""
    artifacts = {"embedding": embed(ds, recipe.embed)}
    artifacts["umap"] = umap(ds, artifacts["embedding"].id, recipe.umap)
    artifacts["cluster"] = cluster(ds, artifacts["umap"].id, recipe.cluster)
    require_clustering_checks(artifacts["cluster"], recipe.checks)
    artifacts["labels"] = label(ds, artifacts["cluster"].id, recipe.label)
    artifacts["scope"] = scope(ds, artifacts["labels"].id, scope_params(ds, recipe))
    return artifacts


def scope_params(ds: Dataset, recipe: Any) -> scope_stage.ScopeParams:
    return scope_stage.ScopeParams(label=f"{ds.name} ({recipe.name})", description=recipe.description)


def require_clustering_checks(artifact: Artifact, checks: cluster_stage.ClusterChecks) -> None:
    problems = cluster_stage.check_clustering(artifact.sidecar["n_clusters"], artifact.sidecar["noise_share"], checks)
    if problems:
        raise UserError(
            f"{artifact.id} fails the recipe's cluster checks ({'; '.join(problems)}); "
            "change the recipe's cluster parameters or its checks"
        )
