"""`ls-run` as a real process that a test can stop at a chosen moment: each step writes a mark to a file as it starts
(Dagster captures a run's own stderr and mirrors it late), with the rows embedded so far, and can be held there.

LS_TEST_HOLD_AT=STEP: that step waits, before it computes anything, until the process is killed (ingest and labels
take well under a second, too little to land a kill in by watching). LS_TEST_GATE=PATH: once `ls-run` has waited for
the pool's slots, it marks WAITED and goes on only when PATH exists, so a test can take the slot in between.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import DEMO, SMALL_RECIPE

ROWS = 200
RECIPE = SMALL_RECIPE + "embed: {batch_size: 8}\n"  # many batches, so the embedding can be killed halfway
DATASET = "killed"
SHIM = """
import os, sys, threading, time
from ls_pipeline import steps
from ls_pipeline.runs import pool_wait
from ls_pipeline.models import embedding, onnx_export
marks = open(os.environ["LS_TEST_MARKS"], "a", buffering=1)
def announcing(name):
    real = getattr(steps, name)
    def step(*args, **kwargs):
        marks.write(f"STEP {name}\\n")
        if name == os.environ.get("LS_TEST_HOLD_AT"):
            threading.Event().wait()
        return real(*args, **kwargs)
    setattr(steps, name, step)
for name in ("ingest", "embed", "umap", "cluster", "label", "scope"):
    announcing(name)
many = onnx_export.OnnxEmbedder.embed_many
def counted_many(self, batches):
    for vectors in many(self, batches):
        yield vectors
        marks.write(f"EMBEDDED {len(vectors)}\\n")
onnx_export.OnnxEmbedder.embed_many = counted_many
one = embedding.SentenceTransformerEmbedder.embed
def counted(self, texts):
    vectors = one(self, texts)
    marks.write(f"EMBEDDED {len(texts)}\\n")
    return vectors
embedding.SentenceTransformerEmbedder.embed = counted
wait_for_pools = pool_wait.wait_for_pools
def gated(instance, pools):
    wait_for_pools(instance, pools)
    if pools and os.environ.get("LS_TEST_GATE"):
        marks.write("WAITED\\n")
        while not os.path.exists(os.environ["LS_TEST_GATE"]):
            time.sleep(0.02)
pool_wait.wait_for_pools = gated
from ls_pipeline.cli import run_main
sys.argv = ["ls-run", *sys.argv[1:]]
run_main()
"""


def write_source(folder: Path) -> Path:
    """The rows every run ingests, and the recipe they run (`small`), beside them."""
    import pandas as pd

    path = folder / f"{DATASET}.parquet"
    pd.read_parquet(DEMO).iloc[:ROWS].to_parquet(path)
    (folder / "small.yaml").write_text(RECIPE)
    return path


def new_data_dir(parent: Path, source: Path) -> Path:
    root = parent / "data"
    (root / "_recipes").mkdir(parents=True)
    (root / "_recipes" / "small.yaml").write_text(source.with_name("small.yaml").read_text())
    return root


class Run:
    """One `ls-run` of the source file in `root`, its output in files (a pipe nobody reads would stall it)."""

    def __init__(self, root: Path, source: Path, name: str, hold_at: str | None = None, gate: Path | None = None):
        self.marks, self.out, self.err = (root.parent / f"{name}.{kind}" for kind in ("marks", "out", "err"))
        repo = Path(__file__).resolve().parents[1]
        env = {**os.environ, "LATENT_SCOPE_DATA": str(root), "PYTHONPATH": str(repo), "LS_TEST_MARKS": str(self.marks)}
        for name_, value in (("LS_TEST_HOLD_AT", hold_at), ("LS_TEST_GATE", gate and str(gate))):
            env.pop(name_, None)
            if value:
                env[name_] = value
        self.marks.touch()
        self.started = time.monotonic()
        with open(self.out, "w") as out, open(self.err, "w") as err:
            args = [sys.executable, "-c", SHIM, str(source), "--name", DATASET, "--recipe", "small"]
            self.process = subprocess.Popen(args, env=env, stdout=out, stderr=err, text=True)

    def reached(self, mark: str) -> bool:
        lines = self.marks.read_text().splitlines()
        if mark.startswith("EMBEDDED "):
            return sum(int(line.split()[1]) for line in lines if line.startswith("EMBEDDED ")) >= int(mark.split()[1])
        return mark in lines

    def wait_for(self, found: Callable[[], bool], what: str, limit_s: float) -> None:
        """Poll until `found()`; fail if the process ends first or `limit_s` passes."""
        deadline = time.monotonic() + limit_s
        while not found():
            assert self.process.poll() is None, f"ended before {what}: {self.stderr()}"
            assert time.monotonic() < deadline, f"no {what} in {limit_s:.0f}s: {self.stderr()}"
            time.sleep(0.005)

    def kill_at(self, mark: str, limit_s: float) -> None:
        """SIGKILL as soon as `mark` shows."""
        self.wait_for(lambda: self.reached(mark), repr(mark), limit_s)
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(timeout=60) == -signal.SIGKILL

    def finish(self, limit_s: float) -> float:
        """Wait for a successful end; the seconds since the start."""
        try:
            code = self.process.wait(timeout=limit_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"ls-run did not finish in {limit_s:.0f}s: {self.stderr()}") from None
        assert code == 0, self.stderr()
        return time.monotonic() - self.started

    def stderr(self) -> str:
        return self.err.read_text()[-3000:]
