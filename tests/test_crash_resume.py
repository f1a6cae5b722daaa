"""Crash and resume: `ls-embed` killed with SIGKILL halfway, then rerun, in real subprocesses.

The rerun must embed only what the killed run had not finished (no finished batch embedded twice), end with
the same vectors as an uninterrupted run, and no file may ever appear under a final artifact name before the
artifact is complete.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

ROWS, BATCH = 200, 8
# ls-embed with a shim that reports every batch the model embeds (texts in, after encode returns), so the test
# can count work without relying on how the step records its progress on disk.
COUNTING_EMBED = """
import sys
from ls_pipeline.models import embedding, onnx_export
def counting(cls):
    encode = cls.embed
    def counted(self, texts):
        vectors = encode(self, texts)
        print(f"EMBEDDED {len(texts)}", file=sys.stderr, flush=True)
        return vectors
    cls.embed = counted
def counting_many(cls):
    many = cls.embed_many
    def counted(self, batches):
        for vectors in many(self, batches):
            print(f"EMBEDDED {len(vectors)}", file=sys.stderr, flush=True)
            yield vectors
    cls.embed_many = counted
counting(embedding.SentenceTransformerEmbedder)  # the default model on a GPU, and other models
counting_many(onnx_export.OnnxEmbedder)  # the default model's fused fp32 graph on a CPU: batches by a token budget
from ls_pipeline.cli import embed_main
sys.argv = ["ls-embed", *sys.argv[1:]]
embed_main()
"""
FINAL_NAME = re.compile(r"^embedding-\d+")


def _ingest(root: Path, frame: pd.DataFrame) -> None:
    from ls_pipeline import steps
    from ls_pipeline.stages.ingest import IngestParams
    from ls_pipeline.store import DataDir

    steps.ingest(DataDir(root), "crash", frame, IngestParams(text_column="text"))


def _start(root: Path) -> subprocess.Popen[str]:
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "LATENT_SCOPE_DATA": str(root), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(repo)}
    args = [sys.executable, "-c", COUNTING_EMBED, "crash", "text", "--batch_size", str(BATCH)]
    return subprocess.Popen(args, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


class FolderWatch:
    """Polls a folder every few ms from a thread and remembers every name it ever saw there."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.seen, self._stop = folder, set[str](), threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            if self.folder.is_dir():
                self.seen.update(p.name for p in self.folder.iterdir())
            time.sleep(0.005)

    def stop(self) -> set[str]:
        self._stop.set()
        self._thread.join()
        return self.seen


def _run_to_end(root: Path) -> tuple[int, str, str]:
    process = _start(root)
    out, err = process.communicate(timeout=600)
    return process.returncode, out, err


def _vectors(root: Path, artifact_id: str) -> np.ndarray:
    with h5py.File(root / "crash" / "embeddings" / f"{artifact_id}.h5", "r") as handle:
        return handle["embeddings"][:]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    from tests.conftest import DEMO

    return pd.read_parquet(DEMO).iloc[:ROWS].reset_index(drop=True)


def test_embedding_killed_halfway_resumes_from_its_last_finished_batch(tmp_path: Path, frame: pd.DataFrame) -> None:
    root = tmp_path / "data"
    _ingest(root, frame)
    folder = root / "crash" / "embeddings"
    watch = FolderWatch(folder)

    process = _start(root)
    embedded_before_kill, lines = 0, []
    assert process.stderr is not None
    for line in process.stderr:
        lines.append(line)
        if line.startswith("EMBEDDED "):
            embedded_before_kill += int(line.split()[1])
            if embedded_before_kill >= ROWS // 2:
                process.send_signal(signal.SIGKILL)
                break
    rest = process.stderr.read()  # lines written before the kill landed
    process.wait(timeout=60)
    lines += rest.splitlines(keepends=True)
    embedded_before_kill = sum(int(x.split()[1]) for x in lines if x.startswith("EMBEDDED "))
    assert process.returncode == -signal.SIGKILL, "".join(lines)
    assert ROWS // 2 <= embedded_before_kill < ROWS, "not killed halfway: make ROWS larger"

    # After the crash: nothing under a final name, only the staged partial file, which has some batches in it.
    leftover = sorted(p.name for p in folder.iterdir())
    assert leftover and all(name.startswith(".") and name.endswith(".partial") for name in leftover), leftover

    code, out, err = _run_to_end(root)
    seen = watch.stop()
    assert code == 0, err
    assert out.strip() == "embedding-001"
    assert "resuming embedding" in err
    embedded_after = sum(int(x.split()[1]) for x in err.splitlines() if x.startswith("EMBEDDED "))
    # Everything not finished before the kill, and at most the one batch reported but not yet saved when it came:
    # never more. (A local ONNX model's batches hold a token budget, so their sizes vary: bound by the largest.)
    # Each distinct text is embedded once (the sample holds a duplicate).
    largest = max(int(x.split()[1]) for x in lines if x.startswith("EMBEDDED "))
    distinct = frame["text"].nunique()
    assert distinct - embedded_before_kill <= embedded_after <= distinct - embedded_before_kill + largest, err

    # Only finished files were ever visible under a final name, and no staged file is left behind.
    assert sorted(p.name for p in folder.iterdir()) == ["embedding-001.h5", "embedding-001.json"]
    finals = {name for name in seen if FINAL_NAME.match(name)}
    assert finals == {"embedding-001.h5", "embedding-001.json"}
    assert not [name for name in seen if FINAL_NAME.match(name) and name.endswith((".partial", ".tmp"))]

    # The same vectors as a run that was never interrupted.
    clean = tmp_path / "clean"
    _ingest(clean, frame)
    code, out, err = _run_to_end(clean)
    assert code == 0 and "resuming" not in err, err
    resumed, uninterrupted = _vectors(root, "embedding-001"), _vectors(clean, out.strip())
    assert resumed.shape == (ROWS, 384)
    np.testing.assert_allclose(resumed, uninterrupted, atol=1e-5, rtol=0)
    assert np.all(np.abs(np.linalg.norm(resumed, axis=1) - 1) < 1e-4)  # no row left as zeros


def test_a_staged_vectors_file_cut_short_is_started_afresh(tmp_path: Path) -> None:
    """A run killed while HDF5 was creating the staged file leaves a few bytes that do not open: the rerun must
    start that embedding over, not fail on it."""
    from ls_pipeline.store.vectors import resumable

    staged = tmp_path / ".embedding-x.h5.partial"
    with resumable(staged, 10, 4) as out:
        out.write(np.arange(3), np.ones((3, 4), dtype=np.float32))
    with open(staged, "r+b") as handle:
        handle.truncate(96)  # what a SIGKILL right after the file's creation left behind
    with pytest.raises(OSError):
        h5py.File(staged, "r")
    with resumable(staged, 10, 4) as out:
        assert out.done.shape == (10,) and not out.done.any()
        out.write(np.arange(10), np.full((10, 4), 2, dtype=np.float32))
    with h5py.File(staged, "r") as handle:
        assert handle["embeddings"][:].min() == 2
