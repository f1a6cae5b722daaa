"""What the ONNX Runtime embedders share: the model cache folder, the torch.onnx export of a sentence-transformers
model's transformer, the export-convert-keep outline that makes each runtime's model file once per model, the
session, and tokenization + mean pooling + normalization as sentence-transformers does them.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from ls_pipeline.errors import UserError
from ls_pipeline.models.perturb import onnx_threads, perturb
from ls_pipeline.models.st_folder import FolderModel, read_folder
from ls_pipeline.store import atomic, lock
from ls_pipeline.store.machine_cache import export_lock, model_cache_dir
from ls_pipeline.store.vector_cache import model_key

log = logging.getLogger(__name__)

_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# (exported fp32 model, where to write this runtime's model, the model loaded by sentence-transformers)
Convert = Callable[[Path, Path, Any], None]
MODEL_CACHE_HINT = "the model cache folder (models/ in LS_CACHE, ~/.cache/ls-pipeline by default)"


class OnnxEmbedder:
    """A sentence-transformers model's transformer as an ONNX file run by ONNX Runtime; subclasses say which file."""

    revision_suffix = ""

    def __init__(self, model_id: str, location: str, revision: str, threads: int | None = None) -> None:
        self.model_id = model_id
        self.revision = revision + self.revision_suffix
        model = read_folder(location) or _through_sentence_transformers(location)
        if model.pooling != "mean":
            raise UserError(
                f"the ONNX path (quantize: int8) supports mean-pooling models only; {model_id!r} pools by "
                f"{model.pooling or 'something else'!r}. Use quantize: none for this model"
            )
        self._encode, self._count, self.dimensions = model.encode, model.count, model.dimensions
        folder = model_cache_dir() / model_key(model_id, revision)
        self._path = self.model_file(location, folder)
        self.cores = threads or os.cpu_count() or 1
        # Sessions by intra-op threads, each made on first use: a viewer only ever makes the one its queries use
        # (all cores), a pipeline process only the one-thread session of embed_many.
        self._sessions: dict[int, Any] = {}
        self._sessions_lock = threading.Lock()
        self._names: list[str] = []  # the model's inputs, read from the first session made

    def _session(self, threads: int) -> Any:
        with self._sessions_lock:
            if threads not in self._sessions:
                self._sessions[threads] = session(self._path, threads)
                self._names = [i.name for i in self._sessions[threads].get_inputs()]
            return self._sessions[threads]

    def embed(self, texts: list[str]) -> np.ndarray:
        """Vectors for one batch, run on all cores (a search query: latency)."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        encoded = self.tokenize(texts)
        return perturb(self.forward(encoded), lambda: encoded)  # as computed, unless LS_PERTURB (a test aid)

    def embed_many(self, batches: Iterable[list[str]]) -> Iterator[np.ndarray]:
        """Vectors for each batch in order (throughput): one batch per core in flight, each run on one thread.

        A pass on two threads waits at every op for the slower thread, so two one-thread passes side by side embed
        more texts a second on a busy machine (docs/performance.md#figures-behind-the-codes-choices).
        """
        one_thread = self._session(1)
        pending: deque[Future[np.ndarray]] = deque()
        with ThreadPoolExecutor(self.cores, thread_name_prefix="embed") as pool:
            for texts in batches:
                pending.append(pool.submit(self._vectors, texts, one_thread))
                if len(pending) >= self.cores:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def _vectors(self, texts: list[str], on: Any) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        encoded = self.tokenize(texts)
        return perturb(self.forward(encoded, on), lambda: encoded)

    def tokenize(self, texts: list[str]) -> dict[str, np.ndarray]:
        return self._encode(texts)

    def token_counts(self, texts: list[str]) -> np.ndarray:
        """Each text's tokens as the model sees them (after truncation): what a forward pass costs by."""
        return self._count(texts)

    def forward(self, encoded: Any, on: Any = None) -> np.ndarray:
        """Unit-length vectors for tokenized texts (apart from tokenize so a caller can tokenize the next batch
        while this one runs), on session `on` (default: the all-cores one)."""
        on = on or self._session(self.cores)
        feed = {name: np.asarray(encoded[name], dtype=np.int64) for name in self._names}
        hidden = on.run(None, feed)[0]
        mask = np.asarray(encoded["attention_mask"], dtype=np.float32)[..., None]
        pooled = (hidden * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1e-9)
        return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def model_file(self, location: str, folder: Path) -> Path:
        raise NotImplementedError


def _through_sentence_transformers(location: str) -> FolderModel:
    """What read_folder gives, for a model it cannot read (a hub id): sentence-transformers loads it."""
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(location, device="cpu")
    pooling = getattr(st[1], "pooling_mode", None) if len(st) > 1 else None
    length = int(st.max_seq_length or 512)

    def encode(texts: list[str]) -> dict[str, np.ndarray]:
        encoded = st.tokenizer(texts, padding=True, truncation=True, max_length=length, return_tensors="np")
        return {name: np.asarray(encoded[name], dtype=np.int64) for name in encoded}

    def count(texts: list[str]) -> np.ndarray:
        ids = st.tokenizer(texts, truncation=True, max_length=length)["input_ids"]
        return np.array([len(row) for row in ids], dtype=np.int64)

    dimensions = int(st[1].get_config_dict().get("embedding_dimension") or 0) if len(st) > 1 else 0
    return FolderModel(length, dimensions, pooling or "", encode, count)


def ensure_model_file(target: Path, location: str, convert: Convert, what: str) -> Path:
    """`target`, made first if missing: export the model to a private fp32 file, `convert` it into a temp file that
    becomes `target` only if the conversion (and any check it runs) succeeds, and remove the export. One process at
    a time makes it (an flock beside it): a second one waits, then finds it made instead of exporting again."""
    if target.is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with lock.exclusive(export_lock(target.parent)):
            if not target.is_file():
                _make(target, location, convert, what)
    except UserError:
        raise
    except Exception as exc:  # torch.onnx, the optimizer and the quantizer raise many types; all mean "cannot make it"
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"cannot make the ONNX model for {location} ({what}) in {target.parent}: {detail}. Check that "
            f"onnxruntime and onnx are installed (scripts/setup.sh) and that {MODEL_CACHE_HINT} is writable"
        ) from exc
    return target


def _make(target: Path, location: str, convert: Convert, what: str) -> None:
    from sentence_transformers import SentenceTransformer  # torch: paid only by the process that makes the file

    log.info("exporting %s to ONNX and %s (once per model and machine)", location, what)
    st = SentenceTransformer(location, device="cpu")
    plain = target.parent / f".model-fp32.{os.getpid()}.onnx"
    try:
        export(location, plain, st.tokenizer)
        with atomic.atomic_path(target) as tmp:
            convert(plain, tmp, st)
    finally:
        plain.unlink(missing_ok=True)


def export(location: str, path: Path, tokenizer: Any) -> None:
    import torch
    from transformers import AutoModel

    # Eager attention and a padded example: with SDPA, or an unpadded example, padded batches come out wrong.
    model = AutoModel.from_pretrained(location, attn_implementation="eager").eval()
    example = tokenizer(["a short text", "a longer example text, so that the batch has padding in it"], padding=True)
    args = tuple(torch.tensor(example[name]) for name in _INPUTS if name in example)
    names = list(_INPUTS[: len(args)])

    class Hidden(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(names, tensors, strict=True))).last_hidden_state

    axes = {name: {0: "batch", 1: "tokens"} for name in [*names, "hidden"]}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter and its tracer warn; the export is checked in tests
        torch.onnx.export(
            Hidden(), args, str(path), input_names=names, output_names=["hidden"], dynamic_axes=axes,
            opset_version=17, dynamo=False,
        )  # fmt: skip


def session(path: Path, threads: int | None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = onnx_threads(threads or os.cpu_count() or 1)
    # Idle intra-op threads spin by default: between queries they burned the cores torch and DuckDB needed, and a
    # query beside a spinning session ran many times slower (docs/performance.md#figures-behind-the-codes-choices).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
