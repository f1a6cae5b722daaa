"""Embedding models behind remote APIs: OpenAI and Mistral through their official SDKs, and any server that speaks
OpenAI's /v1/embeddings (vLLM, Text Embeddings Inference, Ollama, LM Studio), listed in DATA/_models.json with
`"kind": "embedding"`.

One `embed(texts)` call is one request, so a batch the orchestration wrote to disk was paid for exactly once; the
orchestration keeps several batches in flight (`concurrency`). Batches are packed within the provider's limits on
inputs and tokens per request. Tokens are estimated without a tokenizer download (bytes / 3: above what BPE
tokenizers give for text, so a batch stays under the limit); an input over the model's limit is cut to it or
refused, as the recipe says.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ls_pipeline.errors import UserError
from ls_pipeline.models.latent_scope_ids import custom_entry
from ls_pipeline.models.provider_calls import (
    ProviderError,
    call_with_retries,
    custom_models,
    key_value,
    redact,
    status_error,
)

PROVIDERS = ("openai", "mistral", "openai-compatible")
KEY_ENV = {"openai": "OPENAI_API_KEY", "mistral": "MISTRAL_API_KEY"}
BYTES_PER_TOKEN = 3  # a safe estimate: English BPE text runs about 4 bytes a token


@dataclass(frozen=True)
class ApiEmbeddingModel:
    id: str
    provider: str
    model: str  # the name the server knows it by
    dimensions: int
    max_input_tokens: int = 8191
    max_batch_inputs: int = 2048
    max_batch_tokens: int = 300_000
    shorter_dimensions: bool = False  # the API itself returns fewer dimensions on request (text-embedding-3)
    base_url: str | None = None
    api_key_env: str | None = None
    note: str = ""

    @property
    def revision(self) -> str:
        return f"api:{self.provider}:{self.model}"

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "provider": self.provider, "dimensions": self.dimensions, "note": self.note}


# Latent Scope's ids. Limits from the providers' documentation (Mistral: 256 inputs, 16,384 tokens a request).
BUILTIN = (
    ApiEmbeddingModel("openai-text-embedding-3-small", "openai", "text-embedding-3-small", 1536,
                      shorter_dimensions=True, note="US$0.02 per 1M tokens"),
    ApiEmbeddingModel("openai-text-embedding-3-large", "openai", "text-embedding-3-large", 3072,
                      shorter_dimensions=True, note="US$0.13 per 1M tokens"),
    ApiEmbeddingModel("openai-text-embedding-ada-002", "openai", "text-embedding-ada-002", 1536,
                      note="US$0.10 per 1M tokens"),
    ApiEmbeddingModel("mistralai-mistral-embed", "mistral", "mistral-embed", 1024, max_input_tokens=8192,
                      max_batch_inputs=256, max_batch_tokens=16_384, note="US$0.10 per 1M tokens"),
)  # fmt: skip
_FIELDS = {"id", "kind", "provider", "model", "dimensions", "max_input_tokens", "max_batch_inputs",
           "max_batch_tokens", "shorter_dimensions", "base_url", "api_key_env", "note"}  # fmt: skip


def catalog(data_root: Path | None = None) -> list[ApiEmbeddingModel]:
    """The models above, plus the `"kind": "embedding"` entries of DATA/_models.json (or .yaml)."""
    return [*BUILTIN, *(_entry(item) for _, item in custom_models(data_root, "embedding"))]


def _entry(raw: Any) -> ApiEmbeddingModel:
    if not isinstance(raw, dict):
        raise UserError(f"_models.json: every embedding model is a mapping with an 'id', got {raw!r}")
    where = f"_models.json: embedding model {raw.get('id')!r}"
    if unknown := sorted(set(raw) - _FIELDS):
        raise UserError(f"{where} has unknown keys {', '.join(unknown)}; allowed: {', '.join(sorted(_FIELDS))}")
    provider = raw.get("provider", "openai-compatible")
    if not isinstance(raw.get("id"), str) or provider not in PROVIDERS or not isinstance(raw.get("model"), str):
        raise UserError(f"{where} needs 'id' and 'model' strings and a provider of {', '.join(PROVIDERS)}")
    if provider == "openai-compatible" and not raw.get("base_url"):
        raise UserError(f"{where} is openai-compatible and needs a base_url (http://host:port/v1)")
    numbers = {
        k: raw[k] for k in ("dimensions", "max_input_tokens", "max_batch_inputs", "max_batch_tokens") if k in raw
    }
    if "dimensions" not in numbers or any(not isinstance(v, int) or v < 1 for v in numbers.values()):
        raise UserError(f"{where} needs 'dimensions' (and any limits) as positive integers")
    extra = {k: raw[k] for k in ("base_url", "api_key_env", "note", "shorter_dimensions") if k in raw}
    return ApiEmbeddingModel(id=raw["id"], provider=provider, model=raw["model"], **numbers, **extra)


def find(model_id: str, data_root: Path | None = None) -> ApiEmbeddingModel | None:
    """The model of this id: ours (Latent Scope's openai- and mistralai- ids among them), DATA/_models.json's, or a
    custom_embedding- model of Latent Scope's custom_embedding_models.json."""
    if (found := next((m for m in catalog(data_root) if m.id == model_id), None)) is not None:
        return found
    entry = custom_entry(model_id, data_root)
    return _entry(entry) if entry is not None else None


def key_env(model: ApiEmbeddingModel) -> str | None:
    return model.api_key_env or KEY_ENV.get(model.provider)


def has_key(model: ApiEmbeddingModel, data_root: Path | None) -> bool:
    return model.provider == "openai-compatible" or bool(key_value(key_env(model), data_root))


def estimate_tokens(text: str) -> int:
    return len(text.encode("utf-8")) // BYTES_PER_TOKEN + 1


def fit_input(text: str, limit_tokens: int) -> str:
    """`text` cut (at a character boundary) so its estimate is within `limit_tokens`."""
    data = text.encode("utf-8")[: (limit_tokens - 1) * BYTES_PER_TOKEN]
    return data.decode("utf-8", errors="ignore")


@dataclass
class ApiUsage:
    """What the calls cost, for the sidecar: requests answered, retries, tokens the provider counted."""

    requests: int = 0
    retries: int = 0
    tokens: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, requests: int = 0, retries: int = 0, tokens: int = 0) -> None:
        with self._lock:
            self.requests, self.retries, self.tokens = (
                self.requests + requests,
                self.retries + retries,
                self.tokens + tokens,
            )

    def public(self) -> dict[str, int]:
        return {"requests": self.requests, "retries": self.retries, "tokens": self.tokens}


@dataclass(frozen=True)
class CallSettings:
    """How to call, not what: none of these changes a vector, so none is part of a fingerprint."""

    concurrency: int = 4
    attempts: int = 5
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0
    timeout_s: float = 60.0


class ApiEmbedder:
    """An `Embedder` over a remote API; `dimensions` other than the model's asks the API for shorter vectors."""

    def __init__(
        self, model: ApiEmbeddingModel, data_root: Path | None, dimensions: int | None = None,
        settings: CallSettings | None = None,
    ) -> None:  # fmt: skip
        env = key_env(model)
        key = key_value(env, data_root)
        if not key and model.provider != "openai-compatible":
            raise UserError(
                f"embedding model {model.id!r} needs {env}: export it, or store it with "
                f"`ls-init DATA --{model.provider}_key KEY`"
            )
        if dimensions is not None and dimensions != model.dimensions and not model.shorter_dimensions:
            raise UserError(f"embedding model {model.id!r} gives {model.dimensions} dimensions only; drop dimensions")
        self.model, self.model_id = model, model.id
        self.dimensions = dimensions or model.dimensions
        self._shorter = self.dimensions if self.dimensions != model.dimensions else None  # asked of the API
        self.revision = model.revision
        self.settings = settings or CallSettings()
        self.concurrency = self.settings.concurrency
        self.usage = ApiUsage()
        self._key = key or "not-needed"  # local servers ignore it; the SDK insists on one
        self._client = _open_client(model, self._key, self.settings.timeout_s)

    def embed(self, texts: list[str]) -> np.ndarray:
        """One request for `texts` (retried on 429/5xx/timeouts), unit-length float32 vectors in their order."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        s = self.settings
        try:
            vectors, tokens = call_with_retries(
                lambda: self._client(texts, self._shorter),
                self.model.id, s.attempts, s.backoff_s, s.max_backoff_s, on_retry=lambda: self.usage.add(retries=1),
            )  # fmt: skip
        except ProviderError as exc:
            tries = f" after {s.attempts} tries" if exc.transient else ""
            raise UserError(
                f"embedding model {self.model.id!r} failed{tries}: {exc}; finished batches are saved, rerun the same "
                "command to resume"
            ) from None
        self.usage.add(requests=1, tokens=tokens)
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.shape != (len(texts), self.dimensions):
            raise UserError(f"{self.model.id} answered {matrix.shape[0]} vectors of {matrix.shape[-1]} dimensions "
                            f"for {len(texts)} texts; expected {self.dimensions} dimensions")  # fmt: skip
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        if not np.isfinite(matrix).all() or (norms == 0).any():
            raise UserError(f"{self.model.id} answered a zero or non-finite vector; the server is misbehaving")
        return matrix / norms


def _open_client(model: ApiEmbeddingModel, key: str, timeout_s: float) -> Any:
    """A function (texts, dimensions or None) -> (vectors, tokens), raising ProviderError on a failed call."""
    if model.provider == "mistral":
        return _mistral_client(model, key, timeout_s)
    import openai

    # base_url None: the SDK reads OPENAI_BASE_URL itself. Its retries are off: ours count and honour Retry-After.
    client = openai.OpenAI(api_key=key, base_url=model.base_url, timeout=timeout_s, max_retries=0)

    def call(texts: list[str], dimensions: int | None) -> tuple[list[list[float]], int]:
        extra = {"dimensions": dimensions} if dimensions else {}
        try:
            response = client.embeddings.create(model=model.model, input=texts, encoding_format="float", **extra)
        except openai.APIStatusError as exc:
            raise status_error(exc.status_code, exc.message, exc.response.headers, key) from None
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise ProviderError(
                f"{type(exc).__name__} reaching {client.base_url}: {redact(str(exc), key)}", True
            ) from None
        ordered = sorted(response.data, key=lambda item: item.index)
        return [item.embedding for item in ordered], response.usage.prompt_tokens if response.usage else 0

    return call


def _mistral_client(model: ApiEmbeddingModel, key: str, timeout_s: float) -> Any:
    import httpx2
    from mistralai.client import Mistral, errors

    client = Mistral(
        api_key=key, server_url=model.base_url or None, timeout_ms=int(timeout_s * 1000), retry_config=None
    )

    def call(texts: list[str], dimensions: int | None) -> tuple[list[list[float]], int]:
        try:
            response = client.embeddings.create(model=model.model, inputs=texts)
        except errors.MistralError as exc:
            raise status_error(exc.status_code, exc.body or exc.message, exc.headers, key) from None
        except (errors.NoResponseError, httpx2.TransportError) as exc:
            where = model.base_url or "api.mistral.ai"
            raise ProviderError(f"{type(exc).__name__} reaching {where}: {redact(str(exc), key)}", True) from None
        ordered = sorted(response.data, key=lambda item: item.index or 0)
        return [item.embedding for item in ordered], (response.usage.prompt_tokens or 0) if response.usage else 0

    return call
