"""Embed: texts to unit-length float32 vectors, in length-sorted batches so padding costs little."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ls_pipeline.models.embedding import DEFAULT_MODEL, Embedder
from ls_pipeline.params import choice, integer, param, text, validate

CODE_VERSION = "1"
_STRING = text(message="{name} must be a string, got {shown}")
_OPTIONAL_STRING = text(optional=True, message=_STRING.message)


@dataclass(frozen=True)
class EmbedParams:
    model_id: str = param(
        DEFAULT_MODEL,
        "Hugging Face id, local folder or catalog id",
        text(nonempty=True, message="{name} must be a non-empty string"),
    )
    prefix: str = param("", "text put before every text (some models expect one)", _STRING)
    batch_size: int = param(64, "texts per forward pass", integer(1))
    text_column: str | None = param(None, "the column to embed (default: the dataset's text column)", _OPTIONAL_STRING)
    quantize: Literal["none", "int8"] = param("none", "int8: ONNX Runtime, ~2-3x faster", choice("none", "int8"))

    def __post_init__(self) -> None:
        validate(self)

    def fingerprint_fields(self) -> dict[str, object]:
        # batch size changes speed, not vectors: leave it out so a different batch size reuses the artifact.
        fields: dict[str, object] = {"model_id": self.model_id, "prefix": self.prefix, "text_column": self.text_column}
        if self.quantize != "none":  # only when set, so fp32 artifacts keep the fingerprints they had
            fields["quantize"] = self.quantize
        return fields


def batch_order(texts: Sequence[str], batch_size: int) -> list[np.ndarray]:
    """Row indices grouped into batches of similar length (each batch sorted ascending for HDF5 writes)."""
    order = np.argsort(np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts)), kind="stable")
    return [np.sort(order[i : i + batch_size]) for i in range(0, len(order), batch_size)]


def embed_batches(
    texts: Sequence[str], embedder: Embedder, params: EmbedParams, skip: int = 0
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (row indices, vectors) batch by batch, starting after `skip` batches already done."""
    for rows in batch_order(texts, params.batch_size)[skip:]:
        yield rows, embedder.embed([params.prefix + texts[i] for i in rows])
