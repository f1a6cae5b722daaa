"""What the outside may see of the data directory: datasets, scopes and tags, filtered by the app mode.

Every id from a URL passes through here; nothing else in the viewer builds a path from user input.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa

from ls_pipeline.errors import NotFound as StoreNotFound
from ls_pipeline.store import scope_rows, tags
from ls_pipeline.store.datadir import DataDir, Dataset, is_name
from ls_pipeline.store.files import Version, version
from ls_pipeline.store.layout import SCOPE, SCOPE_INPUT, SIDECAR, TABLE
from ls_pipeline.store.location import for_serving, is_remote
from ls_pipeline.store.sidecars import EmbeddingSidecar, ScopeSidecar
from ls_pipeline.store.tag_names import tag_name_problem
from viewer.errors import BadRequest, NotFound, Unavailable, shown
from viewer.settings import AppConfig

T = TypeVar("T")


def check_id(value: str, what: str) -> str:
    """Ids become file names: reject '..', separators, NUL and anything else outside [A-Za-z0-9_.-]."""
    if not is_name(value):
        raise BadRequest(f"invalid {what} {shown(value)}: use letters, digits, '.', '_' or '-'")
    return value


def check_tag(value: object, what: str = "tag name") -> str:
    """Tag names are Latent Scope's: emoji and any other Unicode but what store/tag_names.py refuses."""
    if (problem := tag_name_problem(value)) is not None:
        raise BadRequest(f"invalid {what} {shown(value)}: {problem}")
    return str(value)


@dataclass(frozen=True)
class Scope:
    dataset: Dataset
    id: str
    sidecar: ScopeSidecar

    @property
    def parquet(self) -> Path:
        return self.dataset.file(SCOPE, self.id, TABLE)

    @property
    def embedding(self) -> EmbeddingSidecar:
        """The scope's copy of its embedding's sidecar; a scope of Latent Scope before 0.1.9 has none, so its
        embedding's own sidecar."""
        if self.sidecar.embedding.model_id:
            return self.sidecar.embedding
        try:
            return self.dataset.sidecar("embedding", self.sidecar.embedding_id)
        except StoreNotFound:
            return self.sidecar.embedding

    @property
    def text_column(self) -> str:
        return str(self.embedding.text_column or self.dataset_meta()["text_column"])

    @property
    def input_path(self) -> Path:
        """Where the rows' input columns are: the dataset's input.parquet (row position = ls_index), else Latent
        Scope's copy of them beside the scope, scopes-NNN-input.parquet (keyed by its `index` column)."""
        own = self.dataset.input_path
        copy = self.dataset.file(SCOPE, self.id, SCOPE_INPUT)
        return copy if not own.is_file() and copy.is_file() else own

    def rows(self, columns: list[str] | None = None) -> pa.Table:
        """The scope's rows with ls_index, whichever Latent Scope version wrote them (store/scope_rows.py)."""
        return scope_rows.read_rows(self.dataset, self.sidecar, columns)

    def rows_parts(self) -> tuple[Any, ...]:
        """The files the rows are read from (store/scope_rows.read_parts takes them)."""
        return scope_rows.parts(self.dataset, self.sidecar)

    def rows_version(self) -> Version:
        return scope_rows.parts_version(self.rows_parts())

    def rows_complete(self) -> bool:
        """Whether the scope's parquet holds its rows as they are (else they are completed in memory)."""
        return scope_rows.is_complete(self.dataset, self.sidecar)

    def clusters(self) -> list[dict[str, Any]]:
        """The scope's clusters with their counts (Latent Scope's lookups have none)."""
        return scope_rows.lookup(self.dataset, self.sidecar)

    def dataset_meta(self) -> dict[str, Any]:
        return read_json(self.dataset.meta_path)


class Catalog:
    def __init__(self, root: Any, config: AppConfig) -> None:
        served = DataDir(root).root
        # On object storage, reads ask a client that keeps metadata answers for store_metadata_ttl_s; writes, and
        # the reads they decide by, a client that keeps none: a tag edit must see the tag file another server wrote
        # a second ago, or it would write over that edit.
        self.data = DataDir(for_serving(served, config.store_metadata_ttl_s))
        self.writes = DataDir(for_serving(served)) if is_remote(served) else self.data
        self.config = config

    @property
    def remote(self) -> bool:
        return is_remote(self.data.root)

    def write(self, change: Callable[..., T], ds: Dataset, *args: Any) -> T:
        """Run change(the dataset, *args) through the writing client, then forget every kept metadata answer, so
        that this server's next read sees its own write."""
        try:
            return change(Dataset(self.writes.root / ds.name), *args)
        finally:
            self.forget()

    def forget(self) -> None:
        if self.remote:
            self.data.root.fs.invalidate_cache()

    def check_store(self) -> None:
        """On object storage an unreachable store reads as a missing file (fsspec's exists() swallows errors): before
        a listing comes back empty or anything is called unknown, make sure the store answered (503 otherwise)."""
        if not self.remote:
            return
        root = self.data.root
        try:
            root.fs.ls(root.path.split("/", 1)[0], refresh=True)
        except Exception as exc:
            raise Unavailable.of(exc, root) from exc

    def dataset_names(self) -> list[str]:
        names = self.data.dataset_names()
        if not names:
            self.check_store()
        if self.config.single:
            return [n for n in names if n == self.config.public_dataset]
        return names

    def dataset(self, name: str) -> Dataset:
        check_id(name, "dataset id")
        if self.config.single and name != self.config.public_dataset:
            raise NotFound(f"unknown dataset {shown(name)}")
        ds = Dataset(self.data.root / name)
        if not ds.meta_path.is_file():
            self.check_store()
            raise NotFound(f"unknown dataset {shown(name)}; see /api/datasets for the list")
        return ds

    def meta(self, name: str) -> dict[str, Any]:
        return read_json(self.dataset(name).meta_path)

    def scope_ids(self, ds: Dataset) -> list[str]:
        ids = ds.ids("scope")
        if self.config.single:
            return [i for i in ids if i == self.config.public_scope]
        return ids

    def scope(self, name: str, scope_id: str) -> Scope:
        ds = self.dataset(name)
        check_id(scope_id, "scope id")
        if scope_id not in self.scope_ids(ds):
            self.check_store()
            raise NotFound(f"unknown scope {shown(scope_id)} in dataset {shown(name)}; see its /scopes list")
        sidecar = read_scope(ds.file(SCOPE, scope_id, SIDECAR))
        if _per_token(sidecar):
            raise NotFound(f"scope {shown(scope_id)} maps tokens, not rows (Latent Scope's token scopes); not served")
        return Scope(ds, scope_id, sidecar)

    def scopes(self, name: str) -> list[ScopeSidecar]:
        ds = self.dataset(name)
        found = [read_scope(ds.file(SCOPE, scope_id, SIDECAR)) for scope_id in self.scope_ids(ds)]
        return [s for s in found if not _per_token(s)]

    def tag_names(self, ds: Dataset) -> list[str]:
        return ds.tags()

    def tag(self, ds: Dataset, tag: str) -> np.ndarray:
        check_tag(tag)
        if tag not in self.tag_names(ds):
            self.check_store()
            raise NotFound(f"unknown tag {shown(tag)} in dataset {ds.name!r}; see /api/datasets/{ds.name}/tags")
        return read_indices(ds.tag_path(tag))

    def tags(self, ds: Dataset) -> dict[str, np.ndarray]:
        return {t: read_indices(ds.tag_path(t)) for t in self.tag_names(ds)}


def _per_token(sidecar: ScopeSidecar) -> bool:
    """Latent Scope 1.0's token scopes hold a point per token (ls_index a token's), not a row per input row."""
    return sidecar.raw.get("granularity") == "tokens"


def read_json(path: Path) -> dict[str, Any]:
    return _read_json(path, version(path))


@lru_cache(maxsize=256)
def _read_json(path: Path, _version: Version) -> dict[str, Any]:
    # Keyed by version so a new or rewritten sidecar is seen at once; callers must not mutate the result.
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def read_scope(path: Path) -> ScopeSidecar:
    return ScopeSidecar.from_json(read_json(path))


def read_indices(path: Path) -> np.ndarray:
    # The version has inode and size too: the studio replaces a tag file twice within one mtime tick (a coarse clock).
    return _read_indices(path, version(path))


@lru_cache(maxsize=64)
def _read_indices(path: Path, _version: Version) -> np.ndarray:
    return np.asarray(tags.read_indices(path), dtype=np.int64)
