"""Embed: texts to unit-length float32 vectors, in length-sorted batches so padding costs little."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ls_pipeline.errors import UserError
from ls_pipeline.models.embedding import DEFAULT_MODEL, Embedder
from ls_pipeline.params import OPTIONAL_POSITIVE, choice, integer, param, text, validate

CODE_VERSION = "1"
# A local ONNX model's batches hold batch_size x this many padded tokens, whatever the texts' lengths: many short
# texts or a few long ones per forward pass, so each pass is a GEMM of about the same size. With one batch per core
# in flight on one thread each (OnnxEmbedder.embed_many), small batches that stay in cache are the fastest
# (docs/performance.md#figures-behind-the-codes-choices).
BATCH_TOKENS_PER_TEXT = 10
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
    batch_size: int = param(64, "texts per forward pass (a local ONNX model: batch_size x 10 tokens)", integer(1))
    text_column: str | None = param(None, "the column to embed (default: the dataset's text column)", _OPTIONAL_STRING)
    quantize: Literal["none", "int8"] = param(
        "none", "int8: a mixed int8 ONNX Runtime model, ~1.2x the fp32 default's speed", choice("none", "int8")
    )
    dimensions: int | None = param(
        None,
        "shorter vectors: the API's own (OpenAI text-embedding-3) or a Matryoshka model's first N, renormalised",
        OPTIONAL_POSITIVE,
    )
    overlong: Literal["truncate", "refuse"] = param(
        "truncate",
        "an input over an API model's token limit: cut it to the limit, or stop the run naming the row",
        choice("truncate", "refuse"),
    )

    def __post_init__(self) -> None:
        validate(self)

    def fingerprint_fields(self) -> dict[str, object]:
        # batch size changes speed, not vectors: leave it out so a different batch size reuses the artifact.
        fields: dict[str, object] = {"model_id": self.model_id, "prefix": self.prefix, "text_column": self.text_column}
        if self.quantize != "none":  # only when set, so fp32 artifacts keep the fingerprints they had
            fields["quantize"] = self.quantize
        if self.dimensions is not None:  # likewise
            fields["dimensions"] = self.dimensions
        return fields


def batch_order(
    texts: Sequence[str], batch_size: int, max_batch_tokens: int | None = None, tokens: Callable[[str], int] = len
) -> list[np.ndarray]:
    """Row indices grouped into batches of similar length (each batch sorted ascending for HDF5 writes); with
    `max_batch_tokens`, a batch also closes before its estimated tokens would pass that limit."""
    order = np.argsort(np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts)), kind="stable")
    if max_batch_tokens is None:
        return [np.sort(order[i : i + batch_size]) for i in range(0, len(order), batch_size)]
    batches, current, used = [], [], 0
    for row in order.tolist():
        cost = tokens(texts[row])
        if current and (len(current) == batch_size or used + cost > max_batch_tokens):
            batches.append(np.sort(np.array(current, dtype=np.int64)))
            current, used = [], 0
        current.append(row)
        used += cost
    if current:
        batches.append(np.sort(np.array(current, dtype=np.int64)))
    return batches


def token_budget_order(lengths: np.ndarray, budget: int) -> list[np.ndarray]:
    """Row indices in batches sorted by token count, each closing before its rows x its longest row would pass
    `budget` padded tokens (a row longer than the budget goes alone); each batch sorted ascending for HDF5 writes."""
    batches, current, longest = [], [], 0
    for row in np.argsort(lengths, kind="stable").tolist():
        longest = max(longest, int(lengths[row]))
        if current and (len(current) + 1) * longest > budget:
            batches.append(np.sort(np.array(current, dtype=np.int64)))
            current, longest = [], int(lengths[row])
        current.append(row)
    if current:
        batches.append(np.sort(np.array(current, dtype=np.int64)))
    return batches


def token_counts(embedder: Embedder, texts: list[str], chunk: int = 4096) -> np.ndarray:
    """The model's own token count of each text, a chunk at a time (the tokenizer's output for a million texts at
    once would be gigabytes)."""
    count = embedder.token_counts  # type: ignore[attr-defined]
    parts = [count(texts[i : i + chunk]) for i in range(0, len(texts), chunk)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def fit_inputs(texts: list[str], embedder: Embedder, params: EmbedParams) -> tuple[list[str], int]:
    """Texts whose input (prefix + text) is within an API model's token limit (local models truncate on their own),
    and how many were cut. With overlong="refuse", a text over the limit stops the run instead, naming its row."""
    limits = getattr(embedder, "model", None)
    if limits is None or not hasattr(limits, "max_input_tokens"):
        return texts, 0
    from ls_pipeline.models.api_embedding import estimate_tokens, fit_input

    room = limits.max_input_tokens - estimate_tokens(params.prefix) + 1
    over = [i for i, text in enumerate(texts) if estimate_tokens(params.prefix + text) > limits.max_input_tokens]
    if over and params.overlong == "refuse":
        raise UserError(
            f"{len(over)} text(s) are over {limits.id}'s {limits.max_input_tokens}-token limit (first: ls_index "
            f"{over[0]}); shorten them, or embed with overlong: truncate"
        )
    fitted = list(texts)
    for i in over:
        fitted[i] = fit_input(texts[i], room)
    return fitted, len(over)


def embed_texts(texts: Sequence[str], embedder: Embedder, params: EmbedParams | None = None) -> np.ndarray:
    """All of `texts`' vectors, in their order, batched as embed_batches batches them (throughput, not latency)."""
    out = np.zeros((len(texts), embedder.dimensions), dtype=np.float32)
    for rows, vectors in embed_batches(texts, embedder, params or EmbedParams()):
        out[rows] = vectors
    return out


def embed_batches(
    texts: Sequence[str], embedder: Embedder, params: EmbedParams
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (row indices, vectors) batch by batch, as each finishes. An API model keeps `concurrency` requests in
    flight and packs each within its limits on inputs and tokens per request; one batch is one request."""
    inputs = [params.prefix + text for text in texts]
    limits = getattr(embedder, "model", None)
    if hasattr(embedder, "embed_many"):  # a local ONNX model: batches by the padded tokens a forward pass costs
        batches = token_budget_order(token_counts(embedder, inputs), params.batch_size * BATCH_TOKENS_PER_TEXT)
        yield from zip(batches, embedder.embed_many([inputs[i] for i in rows] for rows in batches), strict=True)
        return
    if limits is None or not hasattr(limits, "max_batch_tokens"):
        for rows in batch_order(texts, params.batch_size):
            yield rows, embedder.embed([inputs[i] for i in rows])
        return
    from ls_pipeline.models.api_embedding import estimate_tokens

    size = min(params.batch_size, limits.max_batch_inputs)
    batches = iter(batch_order(inputs, size, limits.max_batch_tokens, estimate_tokens))
    workers = getattr(embedder, "concurrency", 1)
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: dict[Future[np.ndarray], np.ndarray] = {}
        while True:
            while failure is None and len(pending) < workers and (rows := next(batches, None)) is not None:
                pending[pool.submit(embedder.embed, [inputs[i] for i in rows])] = rows
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                rows = pending.pop(future)
                if future.exception() is not None:
                    failure = failure or future.exception()
                else:  # also after a failure: what was answered (and paid for) is kept
                    yield rows, future.result()
    if failure is not None:
        raise failure
