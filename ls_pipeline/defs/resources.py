"""Resources: the data directory, configured by path so every worker that mounts it sees the same files."""

from __future__ import annotations

import dagster as dg

from ls_pipeline.store.datadir import DATA_ENV, DataDir


class DataDirResource(dg.ConfigurableResource):
    """The Latent Scope data directory ($LATENT_SCOPE_DATA). Assets reach files only through it."""

    path: str

    def data(self) -> DataDir:
        return DataDir(self.path)


def data_dir_resource() -> DataDirResource:
    # EnvVar is read when a run starts, in whatever process runs it, not when the code location loads.
    return DataDirResource(path=dg.EnvVar(DATA_ENV))
