"""Latent Scope's embedding model ids, mapped to the same model here.

Latent Scope names a model `<provider>-<name>` with the name's "/" written "___": `huggingface-` (1.0), `🤗-` and
`transformers-` (0.x) for Hugging Face models, which run here as the same Hub model; `nomic-` for Nomic's open
models, which run here from their Hub weights; `openai-` and `mistralai-`, which are in our API catalog under the
same ids; `custom_embedding-` for an OpenAI-compatible server listed in DATA/custom_embedding_models.json, which we
read as it is. Cohere, Voyage AI and Together AI are called through SDKs we do not carry: for those, and for anything
else we cannot map, `unmapped_line` says in one line what to set instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HUB_PREFIXES = ("huggingface-", "🤗-", "transformers-")
NOMIC = "nomic-"
NOMIC_ORG = "nomic-ai/"
NOMIC_MODEL = "nomic-embed"
CUSTOM = "custom_embedding-"
CUSTOM_FILE = "custom_embedding_models.json"  # Latent Scope's, in the data directory root
SLASH = "___"
# Providers Latent Scope calls through their own SDKs: provider name and the key variable it reads.
ELSEWHERE = {
    "cohereai-": ("Cohere", "COHERE_API_KEY"),
    "voyageai-": ("Voyage AI", "VOYAGE_API_KEY"),
    "togetherai-": ("Together AI", "TOGETHER_API_KEY"),
}
API_PREFIXES = ("openai-", "mistralai-")


def hub_id(model_id: str) -> str:
    """The Hugging Face id behind a Latent Scope id (huggingface-org___name -> org/name); others unchanged."""
    for prefix in HUB_PREFIXES:
        if model_id.startswith(prefix):
            return model_id[len(prefix) :].replace(SLASH, "/")
    # Nomic's model names start with "nomic-embed"; the id is the name, or the name behind a "nomic-" provider prefix
    name = model_id.removeprefix(NOMIC) if model_id.startswith(NOMIC + NOMIC_MODEL) else model_id
    if name.startswith(NOMIC_MODEL) and "/" not in name:
        return NOMIC_ORG + name
    return model_id


def custom_entry(model_id: str, data_root: Path | None) -> dict[str, Any] | None:
    """A `custom_embedding-` model of Latent Scope's custom_embedding_models.json as an entry of our _models.json
    (an OpenAI-compatible server); None when it is not one, or the file does not say its dimensions."""
    found = _custom_models(model_id, data_root)
    if found is None:
        return None
    dimensions = _dimensions(found)
    if dimensions is None or not isinstance(found.get("name"), str) or not _base_url(found):
        return None
    return {
        "id": model_id,
        "provider": "openai-compatible",
        "model": found["name"],
        "base_url": _base_url(found),
        "dimensions": dimensions,
        "api_key_env": "OPENAI_API_KEY",  # what Latent Scope sends such a server (the server may ignore it)
        "note": f"Latent Scope custom model ({CUSTOM_FILE})",
    }


def unmapped_line(model_id: str, data_root: Path | None) -> str | None:
    """One line on a Latent Scope id no model here runs, naming what to set; None for ids not Latent Scope's."""
    declare = (
        f"to embed with it, declare it in DATA/_models.json as an openai-compatible embedding model with id "
        f"{model_id!r} (model, base_url, dimensions, api_key_env); finding a row's neighbours needs no model"
    )
    for prefix, (provider, key) in ELSEWHERE.items():
        if model_id.startswith(prefix):
            return f"embedding model {model_id!r} runs on {provider}'s API ({key}), which we do not call; {declare}"
    if model_id.startswith(CUSTOM):
        if _custom_models(model_id, data_root) is None:
            return f"embedding model {model_id!r} is not in the data directory's {CUSTOM_FILE}; {declare}"
        return f"embedding model {model_id!r} in {CUSTOM_FILE} has no name, base_url and dimensions; {declare}"
    if model_id.startswith(API_PREFIXES):
        return f"embedding model {model_id!r} is not in the API catalog (see ls-list-models); {declare}"
    return None


def _custom_models(model_id: str, data_root: Path | None) -> dict[str, Any] | None:
    if not model_id.startswith(CUSTOM) or data_root is None:
        return None
    path = data_root / CUSTOM_FILE
    try:
        entries = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
    except (OSError, ValueError):
        return None
    found = [e for e in entries if isinstance(e, dict) and e.get("id") == model_id] if isinstance(entries, list) else []
    return found[0] if found else None


def _base_url(entry: dict[str, Any]) -> str | None:
    url = entry.get("base_url") or entry.get("url")
    return url if isinstance(url, str) and url else None


def _dimensions(entry: dict[str, Any]) -> int | None:
    """The entry's `dimensions`, or its params' (Latent Scope lists the choices of a Matryoshka API: the largest)."""
    params = entry.get("params") if isinstance(entry.get("params"), dict) else {}
    value = entry.get("dimensions", params.get("dimensions"))
    if isinstance(value, list):
        value = max((v for v in value if isinstance(v, int)), default=None)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
