"""Where everything lives: $LATENT_SCOPE_DATA/<dataset>/{input.parquet, meta.json, embeddings/, umaps/, ...}."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from ls_pipeline.errors import NotFound, UserError
from ls_pipeline.store import lock

DATA_ENV = "LATENT_SCOPE_DATA"
# Names that become folder names: no separators, no dots up front, nothing a shell or URL mangles.
# fullmatch everywhere: `$` alone would let a trailing newline through ("name\n" as a folder name).
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")

# kind -> (folder, id prefix). Labels ids hang off their cluster: cluster-001-labels-001.
KINDS: dict[str, tuple[str, str]] = {
    "embedding": ("embeddings", "embedding"),
    "umap": ("umaps", "umap"),
    "cluster": ("clusters", "cluster"),
    "labels": ("clusters", "{parent}-labels"),
    "scope": ("scopes", "scopes"),
}


def resolve_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: an explicit path, else $LATENT_SCOPE_DATA, else the value ls-init left in ./.env."""
    value = str(explicit) if explicit else os.environ.get(DATA_ENV) or dotenv_value(Path(".env"), DATA_ENV)
    if not value:
        raise UserError(f"no data directory: run `ls-init PATH` or set {DATA_ENV}")
    return Path(value).expanduser().resolve()


def dotenv_value(path: Path, key: str) -> str | None:
    """`key`'s value in a .env file (`KEY=value`, optionally `export KEY=value`, quotes stripped); None if unset."""
    if not path.is_file():
        return None
    for line in path.read_text(errors="replace").splitlines():
        name, _, value = line.partition("=")
        if name.strip().removeprefix("export ").strip() == key:
            return value.strip().strip("'\"") or None
    return None


def check_name(name: str, what: str = "dataset name") -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name) or ".." in name:
        raise UserError(
            f"invalid {what} {name!r}: use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


class DataDir:
    """The root folder holding one folder per dataset, plus _inbox/ and _recipes/."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @property
    def inbox(self) -> Path:
        return self.root / "_inbox"

    @property
    def recipes(self) -> Path:
        return self.root / "_recipes"

    def dataset_names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / "meta.json").is_file() and _NAME.fullmatch(p.name))

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
        return self.path / "meta.json"

    @property
    def input_path(self) -> Path:
        return self.path / "input.parquet"

    def meta(self) -> dict[str, Any]:
        return read_json(self.meta_path)

    def lock(self) -> AbstractContextManager[None]:
        return lock.exclusive(self.path / ".lock")

    def work_lock(self, key: str) -> AbstractContextManager[None]:
        """Held while computing one fingerprint, so two runs never compute the same artifact at once."""
        return lock.exclusive(self.path / ".locks" / f"{key}.lock")

    def folder(self, kind: str) -> Path:
        return self.path / KINDS[kind][0]

    def prefix(self, kind: str, parent: str | None = None) -> str:
        return KINDS[kind][1].format(parent=parent)

    def file(self, kind: str, artifact_id: str, suffix: str) -> Path:
        return self.folder(kind) / f"{artifact_id}{suffix}"

    def ids(self, kind: str, parent: str | None = None) -> list[str]:
        """Ids of finished artifacts of a kind (those whose sidecar exists), oldest first."""
        pattern = re.compile(rf"^{re.escape(self.prefix(kind, parent))}-(\d{{3,}})\.json$")
        folder = self.folder(kind)
        if not folder.is_dir():
            return []
        found = [(int(m.group(1)), m.group(0)[:-5]) for p in folder.iterdir() if (m := pattern.match(p.name))]
        if kind == "cluster":
            found = [f for f in found if "-labels-" not in f[1]]
        return [name for _, name in sorted(found)]

    def next_id(self, kind: str, parent: str | None = None) -> str:
        """The next free id; counts any file with the prefix so an orphan from a crash is never overwritten."""
        prefix = self.prefix(kind, parent)
        pattern = re.compile(rf"^{re.escape(prefix)}-(\d{{3,}})(?:[.-]|$)")
        folder = self.folder(kind)
        numbers = [int(m.group(1)) for p in folder.iterdir() if (m := pattern.match(p.name))] if folder.is_dir() else []
        return f"{prefix}-{max(numbers, default=0) + 1:03d}"

    def sidecar(self, kind: str, artifact_id: str) -> dict[str, Any]:
        path = self.file(kind, artifact_id, ".json")
        if not isinstance(artifact_id, str) or not _NAME.fullmatch(artifact_id) or not path.is_file():
            known = ", ".join(self.all_ids(kind)) or "none yet"
            raise NotFound(f"unknown {kind} id {artifact_id!r} in dataset {self.name!r} (known: {known})")
        return read_json(path)

    def all_ids(self, kind: str) -> list[str]:
        if kind != "labels":
            return self.ids(kind)
        return [label_id for cluster_id in self.ids("cluster") for label_id in self.ids("labels", cluster_id)]

    def sidecars(self, kind: str) -> Iterator[dict[str, Any]]:
        for artifact_id in self.all_ids(kind):
            yield read_json(self.file(kind, artifact_id, ".json"))

    def find(self, kind: str, fingerprint: str) -> dict[str, Any] | None:
        """The sidecar of an existing artifact with this fingerprint, if any."""
        return next((s for s in self.sidecars(kind) if s.get("fingerprint") == fingerprint), None)

    def tags(self) -> list[str]:
        folder = self.path / "tags"
        return sorted(p.stem for p in folder.glob("*.indices")) if folder.is_dir() else []


def read_json(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
