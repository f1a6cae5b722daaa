"""UMAP's numba compilation paid once per machine, not once per process.

umap-learn marks almost none of its jitted functions `cache=True` (pynndescent marks most), so every new process
compiled them again: ~14 s idle before the first layout (bench/numba_compile.py). Numba can cache any dispatcher
that has not compiled yet (`Dispatcher.enable_caching`, what `cache=True` calls); we switch that on for the
packages we use, right after importing them and before their first call. The cache goes to one folder of ours
(in LS_CACHE), unless NUMBA_CACHE_DIR says otherwise, so it also works where site-packages is read-only.
A function numba cannot cache (pynndescent's nn_descent uses dynamic globals) just compiles as before, silently.
"""

from __future__ import annotations

import importlib
import sys
import threading
import warnings
from pathlib import Path
from types import ModuleType

from ls_pipeline import settings


def numba_cache_dir() -> Path:
    """Where numba keeps the machine code it compiled for UMAP and friends: LS_CACHE's numba/ (the deprecated
    LS_NUMBA_CACHE, where set, names the folder itself). Numba keys each entry by the source file's stamp, numba's
    version, the Python version and the CPU, so an upgrade of any of them recompiles instead of loading stale code."""
    return settings.get("LS_NUMBA_CACHE") or settings.get("LS_CACHE") / "numba"


_lock = threading.Lock()
_seen: set[str] = set()  # modules whose dispatchers were looked at


def cached_import(name: str) -> ModuleType:
    """`importlib.import_module(name)`, with numba's on-disk cache on for every not yet compiled jitted function
    in the modules of that package loaded so far (importing `umap` loads pynndescent's too)."""
    with _lock:
        _point_numba_at_cache()
        warnings.filterwarnings("ignore", message="Cannot cache compiled function")
        module = importlib.import_module(name)
        for loaded_name, loaded in [(n, m) for n, m in list(sys.modules.items()) if n not in _seen and _ours(n)]:
            _seen.add(loaded_name)
            _enable(loaded)
        return module


PACKAGES = ("umap", "pynndescent", "fast_hdbscan")


def _ours(module_name: str) -> bool:
    return module_name.split(".")[0] in PACKAGES


def _point_numba_at_cache() -> None:
    import numba

    # Before the packages import: their own cache=True functions pick a cache folder when decorated.
    if not numba.config.CACHE_DIR:
        numba.config.CACHE_DIR = str(numba_cache_dir())


def _enable(module: ModuleType) -> None:
    from numba.core.caching import NullCache
    from numba.core.registry import CPUDispatcher

    for value in list(vars(module).values()):
        uncached = isinstance(getattr(value, "_cache", None), NullCache)
        if isinstance(value, CPUDispatcher) and uncached and not value.signatures:
            value.enable_caching()
