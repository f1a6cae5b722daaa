"""Latent Scope on Dagster: embed, project, cluster, label and explore a text dataset.

import ls_pipeline as ls
ls.init("~/latent-scope-data")
ls.ingest("debian", df, text_column="text")
ls.run("debian")            # or step by step: ls.embed, ls.umap, ls.cluster, ls.label, ls.scope
ls.serve()
"""

from __future__ import annotations

from typing import Any

from ls_pipeline.errors import NotFound, UserError

_API = ("cluster", "data_dir", "embed", "import_embeddings", "ingest", "init", "label", "run", "scope", "serve", "umap")
__all__ = ["NotFound", "UserError", *_API]


COMPONENTS = ("LatentScope",)  # what `dg list components` finds here (the dagster_dg_cli.registry_modules entry point)


def __getattr__(name: str) -> Any:
    # Lazy: the viewer imports ls_pipeline.store without paying for pandas, torch and scikit-learn.
    if name in _API:
        from ls_pipeline import api

        return getattr(api, name)
    if name in COMPONENTS:
        from ls_pipeline.defs import component

        return getattr(component, name)
    raise AttributeError(f"module 'ls_pipeline' has no attribute {name!r}")


def __dir__() -> list[str]:
    # dg's registry lists a module's components through dir(): name the lazy component, not the lazy API.
    return sorted([*globals(), *COMPONENTS])
