"""Chat models behind one small interface: messages in, text and token counts out.

Providers: OpenAI (`openai` SDK), Mistral (`mistralai` SDK) and any OpenAI-compatible server (Ollama, vLLM,
llama.cpp, LM Studio) through the `openai` SDK with a base URL. Model ids: `openai-<model>`, `mistral-<model>`,
or the id of a custom entry in the data directory's custom models file (DataDir.custom_model_files). Keys come
from the environment or the data directory's keys file; they are passed to the SDK and nowhere else (not logged,
not in sidecars or errors).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from ls_pipeline.errors import UserError
from ls_pipeline.models.provider_calls import ProviderError, custom_models, key_value, redact, status_error
from ls_pipeline.store.layout import CUSTOM_MODELS

PROVIDERS = ("openai", "mistral", "openai-compatible")
KEY_ENV = {"openai": "OPENAI_API_KEY", "mistral": "MISTRAL_API_KEY"}

Message = dict[str, str]


@dataclass(frozen=True)
class ChatModel:
    """A catalog entry: which provider, which model, where (base_url), which key, whether JSON mode is asked."""

    id: str
    provider: str
    model: str
    base_url: str | None = None
    api_key_env: str | None = None
    json_mode: bool = True
    note: str = ""

    def public(self) -> dict[str, Any]:
        """What a sidecar may record: everything but secrets (the key's variable name is not a secret)."""
        return {"id": self.id, "provider": self.provider, "model": self.model, "base_url": self.base_url}


@dataclass(frozen=True)
class ChatReply:
    text: str
    prompt_tokens: int
    completion_tokens: int


class ChatProvider(Protocol):
    model: ChatModel

    def complete(self, messages: list[Message], max_tokens: int) -> ChatReply: ...


# ---- catalog ---------------------------------------------------------------------------------------------------------


def catalog(data_root: Path | None = None) -> list[ChatModel]:
    """The shipped chat models, then the user's custom entries (which win on the same id)."""
    shipped = json.loads(resources.files("ls_pipeline.models").joinpath("chat_models.json").read_text())
    entries = {e["id"]: _entry(e, "chat_models.json") for e in shipped}
    for entry in custom_entries(data_root):
        entries[entry.id] = entry
    return list(entries.values())


def custom_entries(data_root: Path | None) -> list[ChatModel]:
    """The chat entries of DATA/_models.json or _models.yaml."""
    return [_entry(item, name) for name, item in custom_models(data_root, "chat")]


def _entry(raw: Any, where: str) -> ChatModel:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw.get("id"):
        raise UserError(f"{where}: every chat model needs an 'id' string, got {raw!r}")
    allowed = "id, kind, provider, model, base_url, api_key_env, json_mode, note"
    if unknown := sorted(set(raw) - set(allowed.split(", "))):
        raise UserError(f"{where}: model {raw['id']!r} has unknown keys {', '.join(unknown)}; allowed: {allowed}")
    provider = raw.get("provider", "openai-compatible")
    if provider not in PROVIDERS:
        raise UserError(f"{where}: model {raw['id']!r} has provider {provider!r}; use one of {', '.join(PROVIDERS)}")
    if provider == "openai-compatible" and not raw.get("base_url"):
        raise UserError(f"{where}: model {raw['id']!r} is openai-compatible and needs a base_url (http://host:port/v1)")
    if not isinstance(raw.get("model"), str) or not raw["model"]:
        raise UserError(f"{where}: model {raw['id']!r} needs 'model', the name the server knows it by")
    return ChatModel(
        id=raw["id"],
        provider=provider,
        model=raw["model"],
        base_url=raw.get("base_url"),
        api_key_env=raw.get("api_key_env") or KEY_ENV.get(provider),
        json_mode=bool(raw.get("json_mode", provider != "openai-compatible")),
        note=str(raw.get("note", "")),
    )


def resolve(model_id: str, data_root: Path | None = None) -> ChatModel:
    """A chat model by catalog id, or any `openai-<model>` / `mistral-<model>` the catalog does not list."""
    for entry in catalog(data_root):
        if entry.id == model_id:
            return entry
    for provider in ("openai", "mistral"):
        if model_id.startswith(provider + "-") and len(model_id) > len(provider) + 1:
            return _entry({"id": model_id, "provider": provider, "model": model_id[len(provider) + 1 :]}, "model id")
    known = ", ".join(e.id for e in catalog(data_root))
    raise UserError(
        f"unknown labeler {model_id!r}: use 'keywords', openai-<model>, mistral-<model>, or a custom entry in "
        f"DATA/{CUSTOM_MODELS[0]} (known: {known})"
    )


# ---- keys ------------------------------------------------------------------------------------------------------------


def api_key(model: ChatModel, data_root: Path | None) -> str:
    """The key from the environment, else from DATA/.env. OpenAI-compatible servers often need none."""
    if value := key_value(model.api_key_env, data_root):
        return value
    if model.provider == "openai-compatible":
        return "not-needed"  # the SDK insists on some key; local servers ignore it
    raise UserError(
        f"chat model {model.id!r} needs {model.api_key_env}: export it, or store it with "
        f"`ls-init DATA --{model.provider}_key KEY`"
    )


# ---- providers -------------------------------------------------------------------------------------------------------


def open_provider(model: ChatModel, data_root: Path | None, timeout_s: float = 60.0) -> ChatProvider:
    key = api_key(model, data_root)
    if model.provider == "mistral":
        return MistralChat(model, key, timeout_s)
    return OpenAIChat(model, key, timeout_s)


class OpenAIChat:
    """OpenAI, or any server speaking its chat completions API. The SDK's own retries are off: ours count."""

    def __init__(self, model: ChatModel, key: str, timeout_s: float) -> None:
        import openai

        self.model = model
        self._key = key
        self._client = openai.OpenAI(api_key=key, base_url=model.base_url, timeout=timeout_s, max_retries=0)

    def complete(self, messages: list[Message], max_tokens: int) -> ChatReply:
        import openai

        extra: dict[str, Any] = {"response_format": {"type": "json_object"}} if self.model.json_mode else {}
        # OpenAI's newer models accept only max_completion_tokens; other servers know max_tokens.
        budget = "max_completion_tokens" if self.model.provider == "openai" else "max_tokens"
        try:
            response = self._client.chat.completions.create(
                model=self.model.model, messages=messages, **{budget: max_tokens}, **extra
            )
        except openai.APIStatusError as exc:
            raise status_error(exc.status_code, exc.message, exc.response.headers, self._key) from None
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            detail = f"{type(exc).__name__} reaching {self._client.base_url}: {redact(str(exc), self._key)}"
            raise ProviderError(detail, transient=True) from None
        usage = response.usage
        text = response.choices[0].message.content if response.choices else None
        return ChatReply(text or "", usage.prompt_tokens if usage else 0, usage.completion_tokens if usage else 0)


class MistralChat:
    """Mistral's API through its SDK (3.x: `mistralai.client.Mistral`); its retries are off as well."""

    def __init__(self, model: ChatModel, key: str, timeout_s: float) -> None:
        from mistralai.client import Mistral

        self.model = model
        self._key = key
        self._client = Mistral(
            api_key=key, server_url=model.base_url or None, timeout_ms=int(timeout_s * 1000), retry_config=None
        )

    def complete(self, messages: list[Message], max_tokens: int) -> ChatReply:
        import httpx2
        from mistralai.client import errors

        extra: dict[str, Any] = {"response_format": {"type": "json_object"}} if self.model.json_mode else {}
        try:
            response = self._client.chat.complete(
                model=self.model.model, messages=messages, max_tokens=max_tokens, **extra
            )
        except errors.MistralError as exc:
            raise status_error(exc.status_code, exc.body or exc.message, exc.headers, self._key) from None
        except (errors.NoResponseError, httpx2.TransportError) as exc:
            where = self.model.base_url or "api.mistral.ai"
            raise ProviderError(f"{type(exc).__name__} reaching {where}: {redact(str(exc), self._key)}", True) from None
        content = response.choices[0].message.content if response.choices else None
        if isinstance(content, list):  # content chunks: keep the text ones
            content = "".join(getattr(chunk, "text", "") for chunk in content)
        usage = response.usage
        return ChatReply(content or "", usage.prompt_tokens or 0, usage.completion_tokens or 0)


class ChatModels:
    """Chat models as one service: the model a labeler id names, its key, and a provider to ask. The label step
    takes one, so a deployment (a gateway) or a test swaps it as a Dagster resource instead of patching functions."""

    def resolve(self, model_id: str, data_root: Path | None = None) -> ChatModel:
        return resolve(model_id, data_root)

    def api_key(self, model: ChatModel, data_root: Path | None) -> str:
        return api_key(model, data_root)

    def open(self, model: ChatModel, data_root: Path | None, timeout_s: float = 60.0) -> ChatProvider:
        return open_provider(model, data_root, timeout_s)
