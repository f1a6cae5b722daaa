"""What `ls-list-models` prints: every embedding model and labeler that can be named, one line each, with where it
runs and, for API models, the key variable and whether it is set (never the key itself)."""

from __future__ import annotations

from pathlib import Path

from ls_pipeline.models import api_embedding, chat
from ls_pipeline.models.embedding import catalog as local_catalog


def model_lines(data_root: Path | None) -> list[str]:
    """`data_root` (None when no data directory is configured) adds its custom models and the keys in its .env."""
    lines = ["embedding models:"]
    for entry in local_catalog():
        where = "offline" if entry["offline"] else "hub"
        shorter = "matryoshka (--dimensions) " if entry.get("matryoshka") else ""
        lines.append(f"  {entry['id']:45} {entry['dimensions']:>5}d  {where:8} {shorter}{entry['note']}")
    for model in api_embedding.catalog(data_root):
        if model.provider == "openai-compatible":
            key = "no key needed"
        else:
            key = f"{api_embedding.key_env(model)} ({'set' if api_embedding.has_key(model, data_root) else 'missing'})"
        lines.append(f"  {model.id:45} {model.dimensions:>5}d  {'api':8} {key} {model.note}".rstrip())
    lines.append("labelers (ls-label MODEL_ID):")
    lines.append(f"  {'keywords':45} {'offline':17} distinctive terms of each cluster (default)")
    for entry in chat.catalog(data_root):
        where = entry.base_url or f"key {entry.api_key_env}"
        lines.append(f"  {entry.id:45} {entry.provider:17} {where} {entry.note}".rstrip())
    return lines
