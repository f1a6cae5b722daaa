"""The ls-* commands, with Latent Scope's names and argument order: one module per family, the console scripts'
entry points here. A user mistake prints one line to stderr and exits 2; the id of what was made (or reused) goes to
stdout."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn

from ls_pipeline.cli.command import PARSERS, Main
from ls_pipeline.cli.data_dir import ls_init, ls_serve
from ls_pipeline.cli.exclusions import ls_duplicates, ls_exclude
from ls_pipeline.cli.runs import ls_recipe, ls_run
from ls_pipeline.cli.stages import (
    ls_cluster,
    ls_embed,
    ls_embed_importer,
    ls_ingest,
    ls_ingest_csv,
    ls_label,
    ls_list_models,
    ls_scope,
    ls_umap,
)
from ls_pipeline.cli.x_archive import ls_twitter_import

__all__ = ["PARSERS", "ls_cluster", "ls_duplicates", "ls_embed", "ls_embed_importer", "ls_exclude", "ls_ingest",
           "ls_ingest_csv", "ls_init", "ls_label", "ls_list_models", "ls_recipe", "ls_run", "ls_scope", "ls_serve",
           "ls_twitter_import", "ls_umap"]  # fmt: skip


def _entry(main: Main) -> Callable[[], NoReturn]:
    return lambda: sys.exit(main(None))


init_main = _entry(ls_init)
ingest_main = _entry(ls_ingest)
ingest_csv_main = _entry(ls_ingest_csv)
list_models_main = _entry(ls_list_models)
embed_importer_main = _entry(ls_embed_importer)
embed_main = _entry(ls_embed)
umap_main = _entry(ls_umap)
cluster_main = _entry(ls_cluster)
label_main = _entry(ls_label)
scope_main = _entry(ls_scope)
run_main = _entry(ls_run)
duplicates_main = _entry(ls_duplicates)
exclude_main = _entry(ls_exclude)
recipe_main = _entry(ls_recipe)
serve_main = _entry(ls_serve)
twitter_import_main = _entry(ls_twitter_import)
