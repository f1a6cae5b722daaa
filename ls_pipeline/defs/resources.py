"""Resources: the data directory (configured by path, so every worker that mounts it sees the same files), the
embedding model and the chat models. A deployment or a test passes its own implementation under the same key."""

from __future__ import annotations

import functools
from pathlib import Path

import dagster as dg

from ls_pipeline.dask_embedding.settings import DaskSettings, from_env
from ls_pipeline.models.chat import ChatModels
from ls_pipeline.models.embedding import Embedder, load_embedder
from ls_pipeline.store.datadir import DATA_ENV, DataDir


class DataDirResource(dg.ConfigurableResource):
    """The Latent Scope data directory ($LATENT_SCOPE_DATA). Assets reach files only through it."""

    path: str

    def data(self) -> DataDir:
        return DataDir(self.path)


class EmbedderResource(dg.ConfigurableResource):
    """Embedding models by id: the shipped loader (cached per process) unless a subclass loads its own.
    With `dask_address` (or LS_DASK_ADDRESS where the step runs), row chunks embed on that Dask cluster's workers,
    which load models with the shipped loader."""

    dask_address: str = ""

    def load_model(
        self, model_id: str, quantize: str = "none", data_root: Path | None = None, dimensions: int | None = None
    ) -> Embedder:
        return load_embedder(model_id, quantize, data_root, dimensions)

    def workers(self) -> DaskSettings | None:
        return from_env(address=self.dask_address or None)


class ChatModelsResource(dg.ConfigurableResource):
    """Chat models for LLM labels: the shipped catalog and the data directory's custom entries."""

    def models(self) -> ChatModels:
        return ChatModels()


def resources() -> dict[str, dg.ConfigurableResource]:
    """One set of objects however often asked: Definitions.merge accepts a key twice only for the same object."""
    return dict(_shared())


@functools.cache
def _shared() -> dict[str, dg.ConfigurableResource]:
    from ls_pipeline.defs.recipe_config import KEY, RecipeConfig

    return {
        "data_dir": data_dir_resource(),
        "embedder": EmbedderResource(),
        "chat_models": ChatModelsResource(),
        KEY: RecipeConfig(),
    }


def data_dir_resource() -> DataDirResource:
    # EnvVar is read when a run starts, in whatever process runs it, not when the code location loads.
    return DataDirResource(path=dg.EnvVar(DATA_ENV))
