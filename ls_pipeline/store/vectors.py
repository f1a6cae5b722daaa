"""An embedding's HDF5 file: float32 `embeddings` [rows, dim] (Latent Scope's layout) plus our `done` flag per row.

The flags let a crashed embedding resume: a rerun embeds only the rows not marked done. Latent Scope reads
`embeddings` and ignores `done`. The readers also take an embedding Latent Scope 1.0 keeps in a LanceDB table
(store/lance_tables.py): Dataset.vectors_path names whichever of the two an embedding has.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ls_pipeline.store.files import readable
from ls_pipeline.store.lance_tables import is_lance_table, lance_shape, read_lance_vectors
from ls_pipeline.store.layout import H5_DONE, H5_VECTORS
from ls_pipeline.store.local_copies import LocalCopies
from ls_pipeline.store.location import is_remote

log = logging.getLogger(__name__)


class ResumableVectors:
    """The vectors being written, with the rows already done; every write is flushed, so a crash loses no batch."""

    def __init__(self, handle: h5py.File, vectors: h5py.Dataset, done: np.ndarray) -> None:
        self.handle = handle
        self.vectors = vectors
        self.done = done

    def write(self, rows: np.ndarray, batch: np.ndarray) -> None:
        """Store the vectors of these (ascending) rows and mark them done."""
        self.vectors[rows] = batch
        self.done[rows] = True
        self.handle[H5_DONE][rows] = True
        self.handle.flush()


@contextlib.contextmanager
def resumable(path: Path, rows: int, dimensions: int) -> Iterator[ResumableVectors]:
    """Open (or start afresh when its shape no longer fits) the staged vectors file of an embedding."""
    try:
        handle = h5py.File(path, "a")
    except OSError:  # killed while HDF5 was writing it (seen when killed as the file was created)
        log.warning("the staged vectors file of an interrupted embedding is unreadable; starting the embedding afresh")
        path.unlink()
        handle = h5py.File(path, "a")
    with handle:
        existing, done = handle.get(H5_VECTORS), handle.get(H5_DONE)
        if existing is not None and done is not None and existing.shape == (rows, dimensions) and done.shape == (rows,):
            yield ResumableVectors(handle, existing, done[:])
            return
        for name in (H5_VECTORS, H5_DONE):
            if name in handle:
                del handle[name]
        vectors = handle.create_dataset(H5_VECTORS, shape=(rows, dimensions), dtype="float32")
        handle.create_dataset(H5_DONE, shape=(rows,), dtype="bool")
        yield ResumableVectors(handle, vectors, np.zeros(rows, dtype=bool))


def write_vectors(path: Path, matrix: np.ndarray) -> None:
    """A whole matrix at once (imported vectors), contiguous so the viewer can memory-map it."""
    with h5py.File(path, "w") as handle:
        handle.create_dataset(H5_VECTORS, data=matrix)


def read_vectors(path: Any) -> np.ndarray:
    if is_lance_table(path):
        return read_lance_vectors(path)
    with readable(path) as source, h5py.File(source, "r") as handle:
        return handle[H5_VECTORS][:]


def vector_shape(path: Any) -> tuple[int, int]:
    """(rows, dimensions) of an embedding's vectors, read from the file's header alone."""
    if is_lance_table(path):
        return lance_shape(path)
    with readable(path) as source, h5py.File(source, "r") as handle:
        rows, dimensions = handle[H5_VECTORS].shape
        return int(rows), int(dimensions)


def open_matrix(path: Any, copies: LocalCopies | None = None) -> np.ndarray:
    """A read-only memory map when the HDF5 dataset is contiguous and uncompressed, else the matrix read once.

    A remote file is mapped from its local copy in `copies` (fetched once per version), so that scoring every row
    reads the local disk and never the store; without `copies` it is read whole into memory. A LanceDB table is
    read whole into memory.
    """
    if is_lance_table(path):
        return read_lance_vectors(path)
    if is_remote(path) and copies is not None:
        path = copies.local(path)
    with readable(path) as source, h5py.File(source, "r") as handle:
        data = handle[H5_VECTORS]
        offset = data.id.get_offset()
        if not is_remote(path) and data.chunks is None and data.compression is None and offset is not None:
            return np.memmap(path, dtype=data.dtype, mode="r", offset=offset, shape=data.shape)
        return np.asarray(data[...], dtype=np.float32)
