"""Sidecars as types: the JSON beside each artifact, read into a frozen dataclass per kind.

A sidecar keeps `raw`, the JSON exactly as on disk: Latent Scope 1.0's server and older readers look for keys we do
not name here (and Latent Scope's own sidecars carry keys we never wrote), so nothing is dropped on a round trip.
The typed fields are what this code reads; a key missing from an older or foreign sidecar takes the field default.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

from ls_pipeline.store import atomic, foreign


@dataclass(frozen=True)
class Sidecar:
    kind: ClassVar[str] = ""
    id: str = ""
    fingerprint: str = ""
    inputs: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    rows: int = 0
    wall_time_s: float = 0.0
    created_at: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Self:
        """Typed fields from the JSON; a foreign sidecar (Latent Scope's) gets a fingerprint derived from it."""
        names = {f.name for f in dataclasses.fields(cls)} - {"raw"}
        fields = {k: _typed(cls, k, raw[k]) for k in names if k in raw and raw[k] is not None}
        return cls(**{**fields, "fingerprint": foreign.sidecar_fingerprint(raw)}, raw=raw)

    @property
    def foreign(self) -> bool:
        """Written by another tool (Latent Scope itself): read as it is, never rewritten, never reused by
        fingerprint."""
        return foreign.is_foreign(self.raw)

    @classmethod
    def read(cls, path: Path) -> Self:
        with path.open(encoding="utf-8") as handle:
            return cls.from_json(json.load(handle))

    def write(self, path: Path, create: bool = False) -> None:
        """Write the sidecar; `create` makes it create-only (AlreadyExists if someone published this id first)."""
        atomic.write_json(path, dict(self.raw), create=create)

    def __getitem__(self, key: str) -> Any:
        # For a key no field names (a stage's counters such as rows_embedded, usage, knn_reused).
        return self.raw[key]

    def __contains__(self, key: object) -> bool:
        return key in self.raw


@dataclass(frozen=True)
class EmbeddingSidecar(Sidecar):
    kind: ClassVar[str] = "embedding"
    model_id: str = ""
    revision: str = ""
    dimensions: int = 0
    prefix: str = ""
    text_column: str | None = None
    quantize: str = "none"

    def same_model(self, other: EmbeddingSidecar) -> bool:
        """Vectors from one model, revision, prefix, quantization and length are comparable row by row."""
        mine = (self.model_id, self.revision, self.prefix, self.quantize, self.dimensions)
        return mine == (other.model_id, other.revision, other.prefix, other.quantize, other.dimensions)


@dataclass(frozen=True)
class UmapSidecar(Sidecar):
    kind: ClassVar[str] = "umap"
    embedding_id: str = ""


@dataclass(frozen=True)
class ClusterSidecar(Sidecar):
    kind: ClassVar[str] = "cluster"
    umap_id: str = ""
    embedding_id: str = ""
    n_clusters: int = 0
    noise_share: float = 0.0
    largest_share: float | None = None  # None: a clustering made before these were recorded
    unclustered_share: float | None = None
    # Per level above the clusters, the parent of each group below (JSON keys are strings); empty when none.
    hierarchy: list[dict[str, int]] = field(default_factory=list)

    def levels(self) -> list[dict[int, int]]:
        return [{int(k): int(v) for k, v in level.items()} for level in self.hierarchy]


@dataclass(frozen=True)
class LabelsSidecar(Sidecar):
    kind: ClassVar[str] = "labels"
    cluster_id: str = ""
    umap_id: str = ""
    embedding_id: str = ""

    def lineage(self) -> tuple[str, str, str]:
        return self.embedding_id, self.umap_id, self.cluster_id


@dataclass(frozen=True)
class ScopeSidecar(Sidecar):
    kind: ClassVar[str] = "scope"
    label: str = ""
    description: str = ""
    embedding_id: str = ""
    umap_id: str = ""
    cluster_id: str = ""
    cluster_labels_id: str = ""
    embedding: EmbeddingSidecar = field(default_factory=EmbeddingSidecar)
    cluster_labels_lookup: list[dict[str, Any]] = field(default_factory=list)
    cluster_levels_lookup: list[dict[str, Any]] = field(default_factory=list)

    def light(self) -> dict[str, Any]:
        """The JSON without the per-cluster lookup, for lists of scopes."""
        return {k: v for k, v in self.raw.items() if k != "cluster_labels_lookup"}


@dataclass(frozen=True)
class DuplicatesSidecar(Sidecar):
    kind: ClassVar[str] = "duplicates"
    embedding_id: str = ""
    threshold: float = 0.0
    groups: int = 0  # groups of two or more rows
    grouped_rows: int = 0  # rows in those groups


@dataclass(frozen=True)
class ExclusionsSidecar(Sidecar):
    kind: ClassVar[str] = "exclusions"
    excluded: int = 0
    source: str = ""  # what made this version: rows, filter, removed, tag, duplicates, restore or undo
    edited_from: str | None = None  # the version before; None for the first
    undo_to: str | None = None  # the version an undo of this one restores ("" : the empty list)


TYPES: dict[str, type[Sidecar]] = {
    t.kind: t
    for t in (
        EmbeddingSidecar, UmapSidecar, ClusterSidecar, LabelsSidecar, ScopeSidecar, DuplicatesSidecar,
        ExclusionsSidecar,
    )
}  # fmt: skip


def of_kind(kind: str, raw: Mapping[str, Any]) -> Sidecar:
    return TYPES[kind].from_json(raw)


def params_record(params: Any) -> dict[str, Any]:
    """A stage's parameters as its sidecar records them: flat, as Latent Scope 1.0 reads them (`neighbors`,
    `min_cluster_size` ... at the top), and nested under `params`, as our Dagster metadata reads them."""
    values = dataclasses.asdict(params)
    return {**values, "params": values}


def _typed(cls: type[Sidecar], name: str, value: Any) -> Any:
    """Nested sidecars (a scope's copy of its embedding's) become their type; everything else stays as read."""
    hint = _hints(cls)[name]
    if isinstance(hint, type) and issubclass(hint, Sidecar) and isinstance(value, Mapping):
        return hint.from_json(value)
    return value


@functools.cache
def _hints(cls: type[Sidecar]) -> dict[str, Any]:
    return typing.get_type_hints(cls)
