"""The embedding step's side of a Dask run: reach the scheduler, cut the texts to embed into chunks, send them to
the workers and hand each chunk's vectors back as it finishes, journaling which worker embedded it.

The step process stays the only writer: it writes each chunk's vectors to the staged HDF5 file (rows marked done,
flushed) and only then journals the chunk, so a worker lost mid-chunk loses nothing (Dask runs the chunk again on
another worker) and a step that stops (scheduler gone, Ctrl-C) resumes from the rows done, never redoing a chunk.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ls_pipeline.dask_embedding import worker
from ls_pipeline.dask_embedding.settings import ADDRESS_ENV, DaskSettings
from ls_pipeline.errors import UserError
from ls_pipeline.models import api_embedding
from ls_pipeline.models.chat_runner import Journal
from ls_pipeline.stages import embed as embed_stage
from ls_pipeline.stages.embed import EmbedParams

log = logging.getLogger(__name__)

CHUNK_KEY = "ls-embed-chunk"  # the Dask key prefix of a chunk task (the dashboard groups tasks by it)


@contextlib.contextmanager
def fan_out(
    settings: DaskSettings | None, params: EmbedParams, data_root: Path, revision: str, journal: Callable[[], Path]
) -> Iterator[DaskEmbedding | None]:
    """A connection to the cluster for one embedding step, or None when there is none to use (no scheduler
    named, or an API model: its requests go out from the step process, which already keeps several in flight).
    `journal` makes the staged chunk journal's path; it is only asked for when the cluster is used."""
    if settings is None:
        yield None
        return
    if api_embedding.find(params.model_id, data_root) is not None:
        log.info("%s embeds through its API: requests go from this process, not the Dask cluster", params.model_id)
        yield None
        return
    with _quiet_distributed(), _client(settings) as client:
        path = journal()
        path.touch()  # a staged file must exist when the artifact is published, even if no chunk was left to do
        yield DaskEmbedding(client, settings, params, revision, Journal(path))


@dataclass
class DaskEmbedding:
    client: Any  # distributed.Client
    settings: DaskSettings
    params: EmbedParams
    revision: str  # what this step's fingerprint recorded; every worker must load the same
    journal: Journal
    model: RemoteModel = field(init=False)
    run: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def __post_init__(self) -> None:
        described = self.client.submit(worker.describe, self.params, pure=False, resources=self.needs())
        info: worker.ModelInfo = self._result(described)
        if info.revision != self.revision:
            raise UserError(
                f"Dask worker {info.worker} loads {self.params.model_id} at revision {info.revision}, this step at "
                f"{self.revision}; install the same ls-pipeline and model package on the workers as here"
            )
        self.model = RemoteModel(self.params.model_id, info.revision, info.dimensions, self)

    def batches(self, texts: Sequence[str], rows: Sequence[int]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(positions in `texts`, vectors) chunk by chunk, in the order chunks finish; `rows` are the texts'
        ls_index, for the journal. A chunk is journaled when the caller asks for the next one: by then it has
        written the vectors it was given."""
        size = self.settings.chunk_rows
        # Chunks of similar length, as a local run's batches: chunks of consecutive rows pad so much more that a
        # worker embeds far slower than a local process (docs/performance.md#on-a-cluster).
        chunks = embed_stage.batch_order(texts, size)
        if not chunks:
            return
        log.info(
            "embedding %d texts in %d chunks of up to %d on the Dask cluster at %s (%d workers)",
            len(texts), len(chunks), size, self.settings.address, len(self.client.scheduler_info()["workers"]),
        )  # fmt: skip
        pending = {self._submit([texts[i] for i in chunk], n): (n, chunk) for n, chunk in enumerate(chunks)}
        from distributed import as_completed

        try:
            for done, future in enumerate(as_completed(list(pending), loop=self.client.loop), start=1):
                result: worker.ChunkResult = self._result(future, done - 1, len(chunks))
                _, chunk = pending.pop(future)
                future.release()
                yield chunk, result.vectors
                self.journal.append(self._entry(future.key, chunk, rows, result))
                log.info(
                    "embedded chunk %d of %d (%d texts) on %s in %.2fs",
                    done, len(chunks), len(chunk), result.worker, result.seconds,
                )  # fmt: skip
        finally:  # stopped early (an error, Ctrl-C): the chunks not yet written are not computed for nothing
            self.client.cancel(list(pending))

    def record(self) -> dict[str, Any]:
        """For the sidecar: the cluster, and every chunk journaled (by this run and any interrupted one before),
        without its rows (the published journal has them; a sidecar stays small at a million rows)."""
        journaled = sorted(self.journal.read().values(), key=lambda e: (e["first_row"], e["key"]))
        chunks = [{k: v for k, v in entry.items() if k != "rows"} for entry in journaled]
        return {
            "dask": {
                "scheduler": self.settings.address,
                "chunk_rows": self.settings.chunk_rows,
                "workers": sorted({e["worker"] for e in chunks}),
            },
            "chunks": chunks,
        }

    def _submit(self, texts: list[str], n: int) -> Any:
        key = f"{CHUNK_KEY}-{self.run}-{n:05d}"
        return self.client.submit(worker.embed_chunk, texts, self.params, key=key, resources=self.needs())

    def needs(self) -> dict[str, float] | None:
        """The worker resources a chunk asks for (LS_DASK_RESOURCES): Dask runs it only where they are."""
        return dict(self.settings.resources) or None

    def _entry(self, key: str, chunk: np.ndarray, rows: Sequence[int], result: worker.ChunkResult) -> dict[str, Any]:
        return {
            "key": key,
            "first_row": int(rows[chunk[0]]),
            "texts": len(chunk),
            "worker": result.worker,
            "seconds": result.seconds,
            "load_s": result.load_s,
            "rows": [int(rows[i]) for i in chunk],  # the ls_index of each text it embedded
        }

    def _result(self, future: Any, done: int = 0, total: int = 0) -> Any:
        """The future's value; losing the scheduler, or a chunk that kills worker after worker, is one line."""
        from distributed import KilledWorker
        from distributed.client import FutureCancelledError
        from distributed.comm import CommClosedError

        try:
            return future.result()
        except (FutureCancelledError, CommClosedError) as exc:  # measured: a lost scheduler cancels every future
            saved = f"; {done} of {total} chunks are saved and a rerun resumes after them" if total else ""
            raise UserError(
                f"lost the Dask scheduler at {self.settings.address} ({type(exc).__name__}){saved}. Start it again "
                f"(or unset {ADDRESS_ENV} to embed in this process) and rerun"
            ) from None
        except KilledWorker as exc:
            raise UserError(
                f"every Dask worker that tried {exc.task} died (out of memory?); give the workers more memory or set "
                f"a smaller LS_DASK_CHUNK_ROWS, and rerun (finished chunks are kept)"
            ) from None


@dataclass(frozen=True)
class RemoteModel:
    """The cluster's model as an Embedder: what the step records and checks, and embed() for a few texts."""

    model_id: str
    revision: str
    dimensions: int
    cluster: DaskEmbedding = field(repr=False)

    def embed(self, texts: list[str]) -> np.ndarray:
        client, params = self.cluster.client, self.cluster.params
        future = client.submit(worker.embed_chunk, texts, params, pure=False, resources=self.cluster.needs())
        chunk: worker.ChunkResult = self.cluster._result(future)
        return chunk.vectors


@contextlib.contextmanager
def _client(settings: DaskSettings) -> Iterator[Any]:
    """A client of the scheduler, or the running worker's own when this step itself runs on one of its workers."""
    from distributed import Client, get_worker, worker_client

    with contextlib.suppress(ValueError, AttributeError):  # ValueError: not running on a Dask worker
        if get_worker().scheduler.address == settings.address:
            with worker_client() as client:
                yield client
            return
    try:
        client = Client(settings.address, timeout=settings.connect_timeout_s, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise UserError(
            f"cannot reach the Dask scheduler at {settings.address} ({ADDRESS_ENV}): {str(exc).splitlines()[0][:160]}. "
            f"Start one (`dask scheduler`), or unset {ADDRESS_ENV} to embed in this process"
        ) from None
    try:
        _wait_for_a_worker(client, settings)
        yield client
    finally:
        client.close(timeout=5)


def _wait_for_a_worker(client: Any, settings: DaskSettings) -> None:
    try:
        client.wait_for_workers(1, timeout=settings.worker_wait_s)
    except TimeoutError:
        raise UserError(
            f"no Dask worker joined the scheduler at {settings.address} within {settings.worker_wait_s:.0f}s; start "
            f"one with `dask worker {settings.address}` (with this package installed)"
        ) from None


@contextlib.contextmanager
def _quiet_distributed() -> Iterator[None]:
    # distributed logs a traceback of its own when the scheduler goes away; the step says it in one line instead.
    # Its config gives some loggers (distributed.client ...) levels of their own, so each one is raised.
    import distributed  # noqa: F401  (its loggers exist once it is imported)

    names = [n for n in logging.root.manager.loggerDict if n == "distributed" or n.startswith("distributed.")]
    before = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for name, level in before.items():
            logging.getLogger(name).setLevel(level)
