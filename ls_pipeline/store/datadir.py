"""Where everything lives: $LATENT_SCOPE_DATA/<dataset>/{input.parquet, meta.json, embeddings/, umaps/, ...}."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from ls_pipeline import settings
from ls_pipeline.errors import NotFound, UserError
from ls_pipeline.store import atomic, foreign, layout, lock, sidecars
from ls_pipeline.store.layout import KINDS, Kind
from ls_pipeline.store.location import Root, check_reachable, is_remote, parse_root, scratch_folder
from ls_pipeline.store.tag_names import check_tag_name, is_tag_name

DATA_ENV = "LATENT_SCOPE_DATA"
LOCAL_ENV = Path(layout.KEYS_FILE)  # ./.env, where ls-init leaves the data directory's path
# Names that become folder names: no separators, no dots up front, nothing a shell or URL mangles.
# fullmatch everywhere: `$` alone would let a trailing newline through ("name\n" as a folder name).
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def resolve_data_dir(explicit: str | os.PathLike[str] | None = None) -> Root:
    """The data directory: an explicit path or URL, else $LATENT_SCOPE_DATA, else the value ls-init left in ./.env.

    A local folder is a Path; s3://bucket/prefix is a UPath whose bucket was just reached (one line if it cannot be).
    """
    value = explicit if explicit else settings.get(DATA_ENV) or dotenv_value(LOCAL_ENV, DATA_ENV)
    if not value:
        raise UserError(f"no data directory: run `ls-init PATH` or set {DATA_ENV}")
    root = parse_root(value)
    check_reachable(root)
    return root


def dotenv_value(path: Path, key: str) -> str | None:
    """`key`'s value in a .env file (`KEY=value`, optionally `export KEY=value`, quotes stripped); None if unset."""
    if not path.is_file():
        return None
    for line in path.read_text(errors="replace").splitlines():
        name, _, value = line.partition("=")
        if name.strip().removeprefix("export ").strip() == key:
            return value.strip().strip("'\"") or None
    return None


def is_name(name: object) -> bool:
    """A name that can become a file or folder name (dataset, artifact id, tag, recipe)."""
    return isinstance(name, str) and bool(_NAME.fullmatch(name)) and ".." not in name


def check_name(name: str, what: str = "dataset name") -> str:
    if not is_name(name):
        raise UserError(
            f"invalid {what} {name!r}: use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


class DataDir:
    """The root folder holding one folder per dataset, plus the inbox, recipes, caches and Dagster's home."""

    def __init__(self, root: str | os.PathLike[str] | Root) -> None:
        self.root = root if isinstance(root, Path) or not isinstance(root, str | os.PathLike) else parse_root(root)

    @property
    def inbox(self) -> Path:
        return self.root / layout.INBOX

    @property
    def rejected(self) -> Path:
        return self.inbox / layout.REJECTED

    @property
    def recipes(self) -> Path:
        return self.root / layout.RECIPES

    @property
    def sources_file(self) -> Path:
        return self.root / layout.SOURCES

    @property
    def prices_file(self) -> Path:
        return self.root / layout.PRICES

    @property
    def keys_file(self) -> Path:
        return self.root / layout.KEYS_FILE

    @property
    def dagster_home(self) -> Path:
        """Dagster's instance folder: in the data directory, or on this machine when that is on object storage
        (SQLite needs a disk; a team sharing runs across machines points DAGSTER_HOME at a PostgreSQL instance)."""
        if is_remote(self.root):
            return (
                scratch_folder(self.root).parent
                / f"{self.root.path.strip('/').replace('/', '--')}{layout.DAGSTER_HOME}"
            )
        return self.root / layout.DAGSTER_HOME

    @property
    def knn_cache(self) -> Path:
        return self.root.joinpath(*layout.KNN_CACHE)

    def vector_cache(self, model_key: str) -> Path:
        return self.root.joinpath(*layout.VECTOR_CACHE, model_key)

    def custom_model_files(self) -> list[Path]:
        return [self.root / name for name in layout.CUSTOM_MODELS]

    def import_secret_path(self, name: str) -> Path:
        return self.root / layout.IMPORT_SECRETS / f"{check_name(name, 'import name')}{layout.SECRET_SUFFIX}"

    def recipe_path(self, name: str) -> Path:
        return self.recipes / f"{name}{layout.RECIPE_SUFFIX}"

    def recipe_names(self) -> list[str]:
        found = self.recipes.glob(f"*{layout.RECIPE_SUFFIX}") if self.recipes.is_dir() else []
        return sorted(p.name[: -len(layout.RECIPE_SUFFIX)] for p in found)

    def note_path(self, file_name: str) -> Path:
        """Where the inbox notes why one of its files did not become a scope."""
        return self.rejected / f"{file_name}{layout.NOTE_SUFFIX}"

    def inbox_files(self, settled_for_s: float = 0.0) -> list[Path]:
        """Files waiting in the inbox, by name; hidden files (uploads still arriving) and files modified less than
        `settled_for_s` ago (maybe still being copied in) are left for later."""
        if not self.inbox.is_dir():
            return []
        now = time.time()
        return [
            p
            for p in sorted(self.inbox.iterdir())
            if p.is_file() and not p.name.startswith(".") and now - p.stat().st_mtime >= settled_for_s
        ]

    def dataset_names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / layout.META).is_file() and _NAME.fullmatch(p.name))

    def dataset(self, name: str, must_exist: bool = True) -> Dataset:
        check_name(name)
        ds = Dataset(self.root / name)
        if must_exist and not ds.meta_path.is_file():
            known = ", ".join(self.dataset_names()) or "none yet"
            raise NotFound(f"unknown dataset {name!r} (known: {known}); ingest it first with ls-ingest")
        return ds


class Dataset:
    """One dataset folder. Artifact ids are allocated here and nowhere else."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name

    @property
    def meta_path(self) -> Path:
        return self.path / layout.META

    @property
    def input_path(self) -> Path:
        return self.path / layout.INPUT

    @property
    def imports_path(self) -> Path:
        return self.path / layout.IMPORTS

    def input_files(self) -> list[Path]:
        """Files named like Latent Scope's input.csv, the stored input.parquet last."""
        found = sorted(self.path.glob(layout.INPUT_GLOB)) if self.path.is_dir() else []
        return [p for p in found if p.name != layout.INPUT] + [p for p in found if p.name == layout.INPUT]

    def meta(self) -> dict[str, Any]:
        return read_json(self.meta_path)

    def lock(self) -> AbstractContextManager[None]:
        return lock.exclusive(self.path / layout.LOCK)

    def work_lock(self, key: str) -> AbstractContextManager[None]:
        """Held while computing one fingerprint, so two runs never compute the same artifact at once."""
        return lock.exclusive(self.path / layout.WORK_LOCKS / f"{key}{layout.LOCK}")

    def folder(self, kind: str | Kind) -> Path:
        return self.path / _kind(kind).folder

    def staging_folder(self, kind: str | Kind) -> Path:
        """Where a stage builds its files before they have an id: beside them locally, a scratch folder on this
        machine when the data directory is on object storage."""
        folder = self.folder(kind)
        return scratch_folder(folder) if is_remote(folder) else folder

    def prefix(self, kind: str | Kind, parent: str | None = None) -> str:
        return _kind(kind).prefix_for(parent)

    def file(self, kind: str | Kind, artifact_id: str, suffix: str) -> Path:
        return self.folder(kind) / f"{artifact_id}{suffix}"

    def artifact_files(self, kind: str | Kind, artifact_id: str) -> list[Path]:
        """The files of one artifact that exist, as its kind declares them (and an embedding's LanceDB table)."""
        declared = (self.file(kind, artifact_id, suffix) for suffix in _kind(kind).files)
        found = sorted(p for p in declared if p.is_file())
        vectors = self.vectors_path(artifact_id) if _kind(kind) is layout.EMBEDDING else None
        return [*found, vectors] if vectors is not None and vectors.suffix == layout.LANCE_SUFFIX else found

    def ids(self, kind: str, parent: str | None = None) -> list[str]:
        """Ids of finished artifacts of a kind (those whose sidecar exists), oldest first."""
        pattern = re.compile(rf"^{re.escape(self.prefix(kind, parent))}-(\d{{3,}})\.json$")
        folder = self.folder(kind)
        if not folder.is_dir():
            return []
        found = [(int(m.group(1)), m.group(0)[:-5]) for p in folder.iterdir() if (m := pattern.match(p.name))]
        if kind == "cluster":  # labels share the folder: cluster-001-labels-001 is not a clustering
            found = [f for f in found if f"-{layout.LABELS.name}-" not in f[1]]
        return [name for _, name in sorted(found)]

    def next_id(self, kind: str, parent: str | None = None) -> str:
        """The next free id; counts any file with the prefix so an orphan from a crash is never overwritten, and
        Latent Scope's LanceDB tables, so that an id it took there (even for an embedding it never finished) is
        never ours too."""
        prefix = self.prefix(kind, parent)
        pattern = re.compile(rf"^{re.escape(prefix)}-(\d{{3,}})(?:[.-]|$)")
        names = [p.name for p in self.folder(kind).iterdir()] if self.folder(kind).is_dir() else []
        table_prefix = layout.LANCE_TABLE_PREFIX.get(kind)
        if table_prefix is not None:
            names += [name.removeprefix(table_prefix) for name in self.lance_tables() if name.startswith(table_prefix)]
        numbers = [int(m.group(1)) for name in names if (m := pattern.match(name))]
        return f"{prefix}-{max(numbers, default=0) + 1:03d}"

    def lance_tables(self) -> list[str]:
        """The names of the dataset's LanceDB tables (Latent Scope 1.0's), without the .lance suffix."""
        folder = self.path / layout.LANCEDB
        found = folder.iterdir() if folder.is_dir() else []
        return sorted(p.name[: -len(layout.LANCE_SUFFIX)] for p in found if p.name.endswith(layout.LANCE_SUFFIX))

    def lance_table(self, name: str) -> Path:
        return self.path / layout.LANCEDB / f"{name}{layout.LANCE_SUFFIX}"

    def vectors_path(self, embedding_id: str) -> Path:
        """Where an embedding's vectors are: our HDF5 file (Latent Scope 0.x's too), else Latent Scope 1.0's LanceDB
        table; the HDF5 path when neither exists."""
        h5 = self.file(layout.EMBEDDING, embedding_id, layout.VECTORS)
        table = self.lance_table(layout.LANCE_TABLE_PREFIX["embedding"] + embedding_id)
        return table if not h5.is_file() and table.is_dir() else h5

    def claim_id(self, kind: str, parent: str | None = None) -> str:
        """The next free id, taken for this writer: on object storage a create-only claim object makes it ours even
        if a writer that ignores the dataset lease counts the same files (the lease makes that rare, this makes it
        harmless); locally the dataset's flock already does."""
        while True:
            artifact_id = self.next_id(kind, parent)
            if not is_remote(self.path):
                return artifact_id
            try:
                atomic.write_bytes(self.file(kind, artifact_id, layout.CLAIM), b"", create=True)
                return artifact_id
            except atomic.AlreadyExists:
                continue

    def release_claim(self, kind: str, artifact_id: str) -> None:
        if is_remote(self.path):
            self.file(kind, artifact_id, layout.CLAIM).unlink(missing_ok=True)

    def sidecar(self, kind: str, artifact_id: str) -> Any:
        """The typed sidecar of one artifact (an EmbeddingSidecar for "embedding" ...); NotFound if it is not there."""
        path = self.file(kind, artifact_id, layout.SIDECAR)
        if not is_name(artifact_id) or not path.is_file():
            known = ", ".join(self.all_ids(kind)) or "none yet"
            raise NotFound(f"unknown {kind} id {artifact_id!r} in dataset {self.name!r} (known: {known})")
        return sidecars.of_kind(kind, read_json(path))

    def all_ids(self, kind: str) -> list[str]:
        if kind != "labels":
            return self.ids(kind)
        return [label_id for cluster_id in self.ids("cluster") for label_id in self.ids("labels", cluster_id)]

    def sidecars(self, kind: str) -> Iterator[Any]:
        for artifact_id in self.all_ids(kind):
            yield sidecars.of_kind(kind, read_json(self.file(kind, artifact_id, layout.SIDECAR)))

    def find(self, kind: str, fingerprint: str) -> sidecars.Sidecar | None:
        """The sidecar of an existing artifact with this fingerprint, if any."""
        return next((s for s in self.sidecars(kind) if s.fingerprint == fingerprint), None)

    def tags(self) -> list[str]:
        """The names of the tags/*.indices files that are tag names (an emoji is; a file with a dot in its name is
        not: Latent Scope would read it as another tag)."""
        folder = self.path / layout.TAGS
        found = folder.glob(f"*{layout.TAG_SUFFIX}") if folder.is_dir() else []
        return sorted(name for p in found if is_tag_name(name := p.name[: -len(layout.TAG_SUFFIX)]))

    def tag_path(self, tag: str) -> Path:
        return self.path / layout.TAGS / f"{check_tag_name(tag)}{layout.TAG_SUFFIX}"

    def fingerprint(self) -> str:
        """The rows' fingerprint: the one our ingest recorded in meta.json, else (a dataset Latent Scope ingested)
        one of its input.parquet's bytes."""
        return self.meta().get(foreign.FINGERPRINT) or foreign.file_fingerprint(self.input_path)

    def is_foreign(self) -> bool:
        """Ingested by another tool (Latent Scope itself): its meta.json and input.parquet are never rewritten."""
        return foreign.is_foreign(self.meta())

    @property
    def tag_history_path(self) -> Path:
        return self.path / layout.TAGS / layout.TAG_HISTORY


def _kind(kind: str | Kind) -> Kind:
    return kind if isinstance(kind, Kind) else KINDS[kind]


def read_json(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)
