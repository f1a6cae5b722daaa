"""Embed through the data directory: vectors of the text column, resumable, never embedding one text twice."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ls_pipeline.dask_embedding import embed as dask_embed
from ls_pipeline.dask_embedding.settings import DaskSettings, from_env
from ls_pipeline.errors import UserError
from ls_pipeline.models.embedding import Embedder, catalog_dimensions, embedder_revision, hub_id, load_embedder
from ls_pipeline.sources.vectors import checked_vectors
from ls_pipeline.stages import embed as embed_stage
from ls_pipeline.steps.ingest import read_texts
from ls_pipeline.store import vectors as vector_file
from ls_pipeline.store.artifacts import Artifact, Staging, produce
from ls_pipeline.store.datadir import Dataset
from ls_pipeline.store.fingerprint import fingerprint
from ls_pipeline.store.layout import CHUNKS, EMBEDDING, IMPORTED, VECTORS
from ls_pipeline.store.sidecars import EmbeddingSidecar
from ls_pipeline.store.vector_cache import VectorCache, text_keys

log = logging.getLogger(__name__)

Loader = Callable[[str, str, Path | None, int | None], Embedder]  # (model_id, quantize, data root, dimensions)


def embed(
    ds: Dataset, params: embed_stage.EmbedParams, load: Loader = load_embedder, workers: DaskSettings | None = None
) -> Artifact:
    """Vectors of the dataset's text column; `load` supplies the model (a test or a Dagster resource swaps it).
    On Dask workers (`workers`, else LS_DASK_ADDRESS) row chunks embed there: how, not what, so the
    fingerprint and the vectors are a local run's."""
    workers = workers or from_env()
    meta = ds.meta()
    text_column = params.text_column or meta["text_column"]
    params = dataclasses.replace(params, text_column=text_column)
    if (theirs := foreign_embedding(ds, params)) is not None:
        log.info("%s (Latent Scope's) holds these texts embedded with this model: its vectors serve", theirs.id)
        return Artifact(EMBEDDING.name, theirs.id, theirs, reused=True)
    revision = embedder_revision(params.model_id, params.quantize, ds.path.parent)
    rows_fingerprint = ds.fingerprint()
    fp = fingerprint(
        "embed",
        embed_stage.CODE_VERSION,
        {**params.fingerprint_fields(), "revision": revision},
        {"dataset": rows_fingerprint},
    )

    def build(staging: Staging) -> dict[str, Any]:
        texts, dimensions = read_texts(ds, text_column), params.dimensions
        with dask_embed.fan_out(workers, params, ds.path.parent, revision, lambda: staging.path(CHUNKS)) as remote:
            model = remote.model if remote else load(params.model_id, params.quantize, ds.path.parent, dimensions)
            cache = VectorCache.for_model(ds.path.parent, params.model_id, model.revision, model.dimensions)
            texts, truncated = embed_stage.fit_inputs(texts, model, params)
            counts = embed_resumable(staging.path(VECTORS), texts, model, params, cache, remote)
            spread = remote.record() if remote else {}
        usage = getattr(model, "usage", None)  # an API model: requests, retries and tokens of this run
        return {
            "model_id": params.model_id,
            "revision": model.revision,
            "dimensions": model.dimensions,
            "prefix": params.prefix,
            "text_column": text_column,
            "batch_size": params.batch_size,
            "quantize": params.quantize,
            "runtime": getattr(model, "runtime", None),  # None: an API model, or a stand-in a test passes
            "params": dataclasses.asdict(params),
            "dataset": ds.name,
            "inputs": {"dataset": rows_fingerprint},
            "rows": len(texts),
            **counts,
            **spread,
            **({"rows_truncated": truncated, "api_usage": usage.public()} if usage is not None else {}),
        }

    packages = ["torch", "sentence-transformers", "onnxruntime", "openai", "mistralai"]
    return produce(ds, EMBEDDING.name, fp, build, packages=packages, resumable=True)


def import_embeddings(ds: Dataset, vectors: np.ndarray, model_id: str, source: str) -> Artifact:
    """Vectors computed elsewhere as an embedding like any other (one per row, normalised, provenance recorded).
    `model_id` names the model that made them; search embeds queries with it when it can load here."""
    meta, rows_fingerprint = ds.meta(), ds.fingerprint()
    matrix = checked_vectors(vectors, meta["length"], source)
    digest = hashlib.sha256(memoryview(matrix)).hexdigest()[:20]  # the bytes tobytes() gives, without a copy
    fields = {"model_id": model_id, "vectors": digest, "dimensions": matrix.shape[1]}
    fp = fingerprint("embed-import", embed_stage.CODE_VERSION, fields, {"dataset": rows_fingerprint})

    def build(staging: Staging) -> dict[str, Any]:
        vector_file.write_vectors(staging.path(VECTORS), matrix)
        return {
            "model_id": model_id,
            "revision": IMPORTED,
            "dimensions": int(matrix.shape[1]),
            "prefix": "",
            "text_column": meta["text_column"],
            "params": {"model_id": model_id, "imported": True},
            "imported_from": source,
            "vectors_sha256": digest,
            "dataset": ds.name,
            "inputs": {"dataset": rows_fingerprint},
            "rows": int(matrix.shape[0]),
        }

    return produce(ds, EMBEDDING.name, fp, build)


def embed_resumable(
    path: Path,
    texts: list[str],
    embedder: Embedder,
    params: embed_stage.EmbedParams,
    cache: VectorCache | None = None,
    remote: dask_embed.DaskEmbedding | None = None,
) -> dict[str, int]:
    """Vectors go to HDF5 batch by batch, each row marked done as it is written, so a rerun after a crash
    embeds only the rows not done. Rows whose text is in the vector cache are copied, not embedded, and each
    distinct text is embedded once. Returns how many rows were embedded, copied from the cache, or resumed."""
    keys = text_keys(texts, params.prefix)
    with vector_file.resumable(path, len(texts), embedder.dimensions) as out:
        resumed = int(out.done.sum())
        if resumed:
            log.info("resuming embedding: %d of %d rows already done", resumed, len(texts))
        cached = len(cache.fill(keys, np.flatnonzero(~out.done), out.write)) if cache else 0
        if cached:
            log.info("%d of %d rows found in the vector cache; not embedded again", cached, len(texts))
        firsts, rows_of = _distinct(keys, np.flatnonzero(~out.done))
        embedded: list[int] = []
        try:
            _embed_distinct(texts, keys, firsts, rows_of, embedder, params, out, embedded, remote)
        finally:
            if cache and embedded:  # also after a crash: what was embedded is never embedded again
                cache.add([keys[r] for r in embedded], out.vectors, np.array(embedded))
    return {"rows_embedded": len(firsts), "rows_from_cache": cached, "rows_resumed": resumed}


def _embed_distinct(
    texts: list[str],
    keys: list[bytes],
    firsts: list[int],
    rows_of: dict[bytes, np.ndarray],
    embedder: Embedder,
    params: embed_stage.EmbedParams,
    out: vector_file.ResumableVectors,
    embedded: list[int],
    remote: dask_embed.DaskEmbedding | None = None,
) -> None:
    """Embed each distinct text once and write its vector to every row holding it; `embedded` grows as it goes.
    With `remote`, a batch is a chunk embedded on a Dask worker."""
    distinct = [texts[i] for i in firsts]
    batches = remote.batches(distinct, firsts) if remote else embed_stage.embed_batches(distinct, embedder, params)
    with tqdm(total=len(firsts), unit="texts", desc="embed", disable=None) as progress:
        for positions, batch in batches:
            batch_keys = [keys[firsts[p]] for p in positions]
            targets = np.concatenate([rows_of[k] for k in batch_keys])
            source = np.repeat(np.arange(len(batch_keys)), [len(rows_of[k]) for k in batch_keys])
            order = np.argsort(targets)
            out.write(targets[order], batch[source[order]])
            embedded.extend(firsts[p] for p in positions)
            progress.update(len(positions))


def _distinct(keys: list[bytes], rows: np.ndarray) -> tuple[list[int], dict[bytes, np.ndarray]]:
    """The first row of each distinct text among `rows`, and every row holding each text."""
    grouped: dict[bytes, list[int]] = {}
    for row in rows.tolist():
        grouped.setdefault(keys[row], []).append(row)
    return [r[0] for r in grouped.values()], {k: np.array(r, dtype=np.int64) for k, r in grouped.items()}


def read_embeddings(ds: Dataset, embedding_id: str) -> np.ndarray:
    """An embedding's vectors, ours or Latent Scope's (HDF5, or a LanceDB table in 1.0)."""
    ds.sidecar(EMBEDDING.name, embedding_id)
    path = ds.vectors_path(embedding_id)
    if not path.exists():
        raise UserError(f"{embedding_id} of dataset {ds.name!r} has no vectors (no .h5 file, no LanceDB table)")
    return vector_file.read_vectors(path)


def foreign_embedding(ds: Dataset, params: embed_stage.EmbedParams) -> EmbeddingSidecar | None:
    """An embedding Latent Scope made of the same column with the same model and prefix, full length and complete:
    its vectors are what this step would compute, so a run continues from them instead of embedding again."""
    if params.quantize != "none" or params.dimensions is not None:
        return None
    model = hub_id(params.model_id)
    full = catalog_dimensions(params.model_id, ds.path.parent)
    length = int(ds.meta().get("length", -1))
    for theirs in ds.sidecars(EMBEDDING.name):
        same = theirs.foreign and hub_id(theirs.model_id) == model and (theirs.prefix or "") == params.prefix
        plain = not any(theirs.raw.get(k) for k in ("max_seq_length", "task", "late_interaction"))
        if same and plain and theirs.text_column == params.text_column and theirs.dimensions == full:
            if _row_count(ds, theirs.id) == length:
                return theirs
    return None


def _row_count(ds: Dataset, embedding_id: str) -> int:
    try:
        return vector_file.vector_shape(ds.vectors_path(embedding_id))[0]
    except (UserError, OSError) as exc:  # no vectors, or a table from an unfinished run
        log.info("not reusing %s: %s", embedding_id, exc)
        return -1
