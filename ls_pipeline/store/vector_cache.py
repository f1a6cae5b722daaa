"""Never embed the same text twice: vectors kept by text hash, one folder per (model, revision).

$LATENT_SCOPE_DATA/_cache/embeddings/<model-key>/shard-*.h5, each shard holding `keys` (16-byte BLAKE2b of
prefix + text) and `vectors` (float32). Shards are only ever added, each written whole to a temp file and renamed,
so concurrent runs and crashes never leave a shard half-written; a reader sees a shard entirely or not at all.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import h5py
import numpy as np

from ls_pipeline.store import atomic
from ls_pipeline.store.files import readable
from ls_pipeline.store.layout import VECTOR_CACHE, VECTOR_SHARDS

KEY_BYTES = 16
_CHUNK = 8192  # rows read from a shard at a time: keeps a 60k-row re-ingest's memory flat

Writer = Callable[[np.ndarray, np.ndarray], None]  # (sorted dataset rows, their vectors)


def text_keys(texts: Sequence[str], prefix: str = "") -> list[bytes]:
    """The cache key of each text as embedded: the prefix is part of what the model sees, so part of the key."""
    return [hashlib.blake2b((prefix + t).encode("utf-8"), digest_size=KEY_BYTES).digest() for t in texts]


def model_key(model_id: str, revision: str) -> str:
    readable = "".join(c if c.isalnum() or c in "-_." else "_" for c in model_id)[-60:]
    return f"{readable}-{hashlib.sha256(f'{model_id}@{revision}'.encode()).hexdigest()[:12]}"


class VectorCache:
    def __init__(self, folder: Path, dimensions: int) -> None:
        self.folder = folder
        self.dimensions = dimensions

    @classmethod
    def for_model(cls, data_root: Path, model_id: str, revision: str, dimensions: int) -> VectorCache:
        return cls(data_root.joinpath(*VECTOR_CACHE, model_key(model_id, revision)), dimensions)

    def shards(self) -> list[Path]:
        return sorted(self.folder.glob(VECTOR_SHARDS)) if self.folder.is_dir() else []

    def fill(self, keys: Sequence[bytes], rows: np.ndarray, write: Writer) -> np.ndarray:
        """Write the cached vector of every listed row whose key is cached; return the rows filled."""
        wanted: dict[bytes, list[int]] = defaultdict(list)
        for row in rows.tolist():
            wanted[keys[row]].append(row)
        filled: list[np.ndarray] = []
        for shard in self.shards():
            if not wanted:
                break
            with readable(shard) as source, h5py.File(source, "r") as handle:
                if handle["vectors"].shape[1] != self.dimensions:
                    continue
                shard_keys = handle["keys"][:]
                hits = [(i, wanted.pop(k)) for i, k in enumerate(map(bytes, shard_keys)) if k in wanted]
                for start in range(0, len(hits), _CHUNK):
                    filled.append(_copy(handle["vectors"], hits[start : start + _CHUNK], write))
        return np.sort(np.concatenate(filled)) if filled else np.zeros(0, dtype=np.int64)

    def add(self, keys: Sequence[bytes], source: np.ndarray | h5py.Dataset, rows: np.ndarray | None = None) -> None:
        """Store one more shard: the vectors source[rows] (all of source if rows is None) under `keys`.
        The source is read in chunks, so an HDF5 dataset is copied without loading it whole."""
        rows = np.arange(len(keys)) if rows is None else np.asarray(rows, dtype=np.int64)
        if not len(keys):
            return
        order = np.argsort(rows)  # HDF5 fancy reads need ascending rows
        target = self.folder / VECTOR_SHARDS.replace("*", uuid.uuid4().hex)
        with atomic.atomic_path(target) as tmp, h5py.File(tmp, "w") as handle:
            packed = b"".join(keys[i] for i in order.tolist())
            handle.create_dataset("keys", data=np.frombuffer(packed, dtype=np.uint8).reshape(-1, KEY_BYTES))
            out = handle.create_dataset("vectors", shape=(len(rows), self.dimensions), dtype="float32")
            for start in range(0, len(rows), _CHUNK):
                out[start : start + _CHUNK] = source[rows[order[start : start + _CHUNK]]]
            handle.attrs["writer_pid"] = os.getpid()


def _copy(vectors: h5py.Dataset, hits: list[tuple[int, list[int]]], write: Writer) -> np.ndarray:
    """Read one chunk of a shard's hit rows and write them to every dataset row that has that text."""
    shard_rows = np.array([i for i, _ in hits], dtype=np.int64)  # ascending: enumerate order
    block = vectors[shard_rows]
    targets = np.array([r for _, rs in hits for r in rs], dtype=np.int64)
    source = np.repeat(np.arange(len(hits)), [len(rs) for _, rs in hits])
    order = np.argsort(targets)
    write(targets[order], block[source[order]])
    return targets
