"""Search queries embed on ONNX Runtime (fused fp32), with the vectors sentence-transformers gives."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from ls_pipeline.errors import UserError
from ls_pipeline.models import onnx_export
from ls_pipeline.models.embedding import (
    DEFAULT_MODEL,
    SentenceTransformerEmbedder,
    embedder_revision,
    load_embedder,
    load_query_embedder,
    resolve_location,
)
from ls_pipeline.models.onnx_fp32 import OnnxFp32Embedder

TEXTS = ["a game to play with friends", "font for terminals", "x", "python library for parsing json " * 60]


@pytest.fixture(scope="module")
def query_embedder() -> OnnxFp32Embedder:
    embedder = load_query_embedder(DEFAULT_MODEL)
    assert isinstance(embedder, OnnxFp32Embedder), "the default model's queries should embed on ONNX Runtime"
    return embedder


@pytest.mark.numeric
def test_query_vectors_match_sentence_transformers(query_embedder: OnnxFp32Embedder) -> None:
    reference = SentenceTransformerEmbedder(DEFAULT_MODEL).embed(TEXTS)
    ours = np.vstack([query_embedder.embed([text]) for text in TEXTS])  # one at a time, as queries come
    assert ours.shape == reference.shape == (len(TEXTS), 384)
    assert float((ours * reference).sum(axis=1).min()) >= 0.99999
    batch = query_embedder.embed(TEXTS)  # padded together: the same vectors
    assert float((batch * reference).sum(axis=1).min()) >= 0.99999


def test_query_embedder_is_the_documents_embedder() -> None:
    embedder = load_query_embedder(DEFAULT_MODEL)
    assert embedder is load_embedder(DEFAULT_MODEL)  # one fused model in memory for documents and queries
    assert embedder.revision == embedder_revision(DEFAULT_MODEL)
    assert embedder.revision == SentenceTransformerEmbedder(DEFAULT_MODEL).revision + "+onnx-fp32-fused"
    assert embedder.embed([]).shape == (0, 384)


def test_tokens_are_sentence_transformers_own(query_embedder: OnnxFp32Embedder) -> None:
    # tokenized from tokenizer.json by `tokenizers` alone (no torch import), with sentence-transformers' length
    reference = SentenceTransformerEmbedder(DEFAULT_MODEL)._model.tokenizer
    texts = [*TEXTS, "", "Ünïcödé and 中文 text"]
    theirs = reference(texts, padding=True, truncation=True, max_length=256, return_tensors="np")
    ours = query_embedder.tokenize(texts)
    assert ours["input_ids"].shape[1] == 256  # the long text is cut at max_seq_length, not the file's 128
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        np.testing.assert_array_equal(ours[name], theirs[name])


def test_a_failed_export_is_one_line_and_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def export(location: str, path: Path, tokenizer: object) -> None:
        path.write_bytes(b"half an export")
        raise RuntimeError("the exporter fell over\nwith a second line")  # as torch.onnx does on an odd model

    monkeypatch.setattr(onnx_export, "export", export)
    target = tmp_path / "m" / "model.onnx"
    with pytest.raises(UserError, match="cannot make the ONNX model .* the exporter fell over. Check") as info:
        onnx_export.ensure_model_file(target, resolve_location(DEFAULT_MODEL)[0], lambda *a: None, "testing")
    assert "\n" not in str(info.value)
    assert [p.name for p in target.parent.iterdir()] == [".export.lock"]  # no model, no temp file, no export


def test_two_exports_at_once_make_the_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[int] = []
    monkeypatch.setattr(onnx_export, "export", lambda location, path, tokenizer: path.write_bytes(b"fp32"))

    def convert(plain: Path, out: Path, st: object) -> None:
        made.append(threading.get_ident())
        out.write_bytes(plain.read_bytes() + b"-converted")

    target = tmp_path / "model.onnx"
    location = resolve_location(DEFAULT_MODEL)[0]
    found: list[Path] = []
    workers = [
        threading.Thread(target=lambda: found.append(onnx_export.ensure_model_file(target, location, convert, "x")))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(made) == 1 and found == [target, target] and target.read_bytes() == b"fp32-converted"


def test_the_default_loads_without_torch(query_embedder: OnnxFp32Embedder) -> None:
    import subprocess

    code = (
        "import sys; from ls_pipeline.models.embedding import load_embedder, DEFAULT_MODEL; "
        "e = load_embedder(DEFAULT_MODEL); e.embed(['a text']); "
        "print(e.runtime, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    assert out.stdout.split() == ["onnxruntime-fp32-fused", "False", "False"]  # the fused file is cached already


# Counts getenv calls while armed. Loaded first (LD_PRELOAD), so every library's getenv comes here.
GETENV_SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
static long calls = 0;
static int armed = 0;
void shim_arm(int on) { armed = on; }
long shim_calls(void) { return calls; }
char *getenv(const char *name) {
    static char *(*real)(const char *) = 0;
    if (!real) real = (char *(*)(const char *))dlsym(RTLD_NEXT, "getenv");
    if (armed) __atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED);
    return real(name);
}
"""


def test_tokenizing_never_reads_the_environment(tmp_path: Path) -> None:
    # getenv is not safe against a setenv in another thread (glibc frees the old environment array): tokenizers'
    # encode_batch and its padding read TOKENIZERS_PARALLELISM a few times a text, and a viewer thread tokenizing a
    # query while a test set AWS variables crashed the test process. Our tokenizing must not call getenv at all.
    import shutil
    import subprocess

    compiler = shutil.which("cc") or shutil.which("gcc")
    assert compiler, "a C compiler is missing: run `bash scripts/setup.sh` (it installs Debian's gcc)"
    (tmp_path / "shim.c").write_text(GETENV_SHIM)
    shim = tmp_path / "shim.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-o", str(shim), str(tmp_path / "shim.c"), "-ldl"], check=True)
    code = f"""
import ctypes
shim = ctypes.CDLL({str(shim)!r}); shim.shim_calls.restype = ctypes.c_long
from ls_pipeline.models.embedding import DEFAULT_MODEL, resolve_location
from ls_pipeline.models.st_folder import read_folder
model = read_folder(resolve_location(DEFAULT_MODEL)[0])
texts = {TEXTS!r} * 8
model.encode(texts)  # anything a first call sets up once is not the point
shim.shim_arm(1); model.encode(texts); model.encode(texts[:1]); model.count(texts); shim.shim_arm(0)
print(shim.shim_calls())
"""
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "LD_PRELOAD": str(shim)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, env=env, check=True)
    assert out.stdout.split()[-1] == "0", out.stdout
