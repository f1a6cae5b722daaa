"""Caches that belong to this machine rather than to a data directory: compiled code, exported models."""

from __future__ import annotations

from pathlib import Path

from ls_pipeline import settings


def model_cache_dir() -> Path:
    """Where ONNX exports of local models are kept (once per machine and model revision): LS_CACHE's models/ (the
    deprecated LS_MODEL_CACHE, where set, names the folder itself)."""
    return settings.get("LS_MODEL_CACHE") or settings.get("LS_CACHE") / "models"


def export_lock(folder: Path) -> Path:
    """The lock file that lets one process at a time make the model files in `folder`."""
    return folder / ".export.lock"
