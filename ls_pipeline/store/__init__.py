"""The data directory: the only code that knows paths, ids, sidecars and how files are written."""

from __future__ import annotations

from ls_pipeline.store.datadir import DataDir, Dataset, resolve_data_dir
from ls_pipeline.store.fingerprint import fingerprint

__all__ = ["DataDir", "Dataset", "fingerprint", "resolve_data_dir"]
