"""Caches that belong to this machine rather than to a data directory: compiled code, exported models."""

from __future__ import annotations

import os
from pathlib import Path

NUMBA_CACHE_ENV = "LS_NUMBA_CACHE"


def numba_cache_dir() -> Path:
    """Where numba keeps the machine code it compiled for UMAP and friends: $LS_NUMBA_CACHE, else
    ~/.cache/ls-pipeline/numba. Numba keys each entry by the source file's stamp, numba's version, the Python
    version and the CPU, so an upgrade of any of them recompiles instead of loading stale code."""
    return Path(os.environ.get(NUMBA_CACHE_ENV) or Path.home() / ".cache" / "ls-pipeline" / "numba").expanduser()
