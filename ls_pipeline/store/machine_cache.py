"""Caches that belong to this machine rather than to a data directory: compiled code, exported models."""

from __future__ import annotations

import os
from pathlib import Path

MODEL_CACHE_ENV = "LS_MODEL_CACHE"


def model_cache_dir() -> Path:
    """Where ONNX exports of local models are kept (once per machine and model revision): $LS_MODEL_CACHE, else
    ~/.cache/ls-pipeline/models."""
    return Path(os.environ.get(MODEL_CACHE_ENV) or Path.home() / ".cache" / "ls-pipeline" / "models").expanduser()


def export_lock(folder: Path) -> Path:
    """The lock file that lets one process at a time make the model files in `folder`."""
    return folder / ".export.lock"
