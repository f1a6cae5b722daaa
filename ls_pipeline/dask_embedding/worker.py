"""What runs on a Dask worker: load a model once per worker process, keep it between chunks and runs, embed chunks.

Dask pickles these functions by reference, so every worker needs this package installed (the same version as
the step process: a chunk's vectors must be the ones a local run would write).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from ls_pipeline.models.embedding import Embedder, load_embedder
from ls_pipeline.stages import embed as embed_stage

# One model per (model id, quantize, dimensions) per worker process; a worker with several threads loads it once.
_MODELS: dict[tuple[str, str, int | None], Embedder] = {}
_LOADING = threading.Lock()


@dataclass(frozen=True)
class ModelInfo:
    revision: str
    dimensions: int
    worker: str


@dataclass(frozen=True)
class ChunkResult:
    vectors: np.ndarray  # float32 [texts, dimensions], in the order the texts were sent
    worker: str  # the Dask address of the worker that embedded the chunk
    seconds: float  # embedding time on the worker (the model load, when this chunk paid it, not included)
    load_s: float  # 0 unless this chunk loaded the model on its worker


def describe(params: embed_stage.EmbedParams) -> ModelInfo:
    """The model's revision and vector length, as a worker loads it (and keeps it for the chunks to come)."""
    model, _ = _model(params)
    return ModelInfo(model.revision, model.dimensions, _worker_address())


def embed_chunk(texts: list[str], params: embed_stage.EmbedParams) -> ChunkResult:
    """Vectors of one chunk, batched exactly as a local run batches them (the stage's own length-sorted batches)."""
    model, load_s = _model(params)
    started = time.perf_counter()
    vectors = np.zeros((len(texts), model.dimensions), dtype=np.float32)
    for rows, batch in embed_stage.embed_batches(texts, model, params):
        vectors[rows] = batch
    return ChunkResult(vectors, _worker_address(), round(time.perf_counter() - started, 4), load_s)


def _model(params: embed_stage.EmbedParams) -> tuple[Embedder, float]:
    key = (params.model_id, params.quantize, params.dimensions)
    with _LOADING:
        if key in _MODELS:
            return _MODELS[key], 0.0
        started = time.perf_counter()
        # data_root None: API models embed in the step process (see cluster/embed.py), workers load local ones only
        _MODELS[key] = load_embedder(params.model_id, params.quantize, None, params.dimensions)
        return _MODELS[key], round(time.perf_counter() - started, 3)


def _worker_address() -> str:
    from distributed import get_worker

    try:
        return str(get_worker().address)
    except ValueError:  # called outside a worker (a unit test): say so rather than invent an address
        return "not-a-worker"
