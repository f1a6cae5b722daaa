"""Helpers for the viewer tests: a copy of the pipeline-built data directory and a real uvicorn server on it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
TAGS = {"favourites": [1, 2, 5, 40, 77, 150], "empty": [], "firsts": list(range(0, 30))}


def copy_built(built_root: Path, target: Path) -> Path:
    """A private copy of the session's built data, with tag files added (the session copy stays untouched)."""
    shutil.copytree(built_root, target)
    tags = target / "sample" / "tags"
    tags.mkdir(exist_ok=True)
    for name, values in TAGS.items():
        (tags / f"{name}.indices").write_text("".join(f"{v}\n" for v in values))
    return target


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(root: Path, log: Path, tree: Path = REPO, **env: str) -> Iterator[str]:
    """`python -m viewer ROOT --port N` in a subprocess; yields its base URL once /api/app answers. `tree`: the
    checkout whose viewer runs (its PYTHONPATH and working directory, which `python -m` searches first)."""
    with serve_process(root, log, tree, **env) as (base, _):
        yield base


@contextmanager
def serve_process(
    root: Path, log: Path, tree: Path = REPO, **env: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """As serve, and the server's process too (to read its memory)."""
    port = free_port()
    full_env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1", **env}
    with open(log, "wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "viewer", str(root), "--port", str(port)],
            env=full_env,
            stdout=sink,
            stderr=sink,
            cwd=tree,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_responds(base + "/api/app", proc, log)
            yield base, proc
        finally:
            proc.terminate()
            proc.wait(timeout=20)


STUDIO_ORIGIN = "http://127.0.0.1"


@contextmanager
def studio_client(root: Path, **env: str) -> Iterator[httpx.Client]:
    """The viewer in process, sending what the studio page sends with a write: its origin and the server's token."""
    with in_process(root, **env) as http:
        token = http.get("/api/app").json()["write_token"]
        http.headers.update({"origin": STUDIO_ORIGIN, "x-ls-token": token})
        yield http


@contextmanager
def in_process(root: Path, **env: str) -> Iterator[httpx.Client]:
    """The viewer app called in this process, without a socket or a server start: Starlette's TestClient, an
    httpx.Client whose transport calls the ASGI app (and runs its lifespan). For tests that need no real server."""
    from starlette.testclient import TestClient

    from viewer.app import create_app
    from viewer.settings import config_from_env

    environ = {**os.environ, **env}  # what the server process would see
    app = create_app(root, config_from_env(environ), environ.get("LATENT_SCOPE_VIEWER_STATIC"))
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as client:
        yield client


def wait_until_responds(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"viewer exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"viewer did not answer within {timeout}s: {log.read_text()[-2000:]}")


def joined_rows(dataset_dir: Path, scope_id: str = "scopes-001") -> pd.DataFrame:
    """The expected rows, computed with pandas apart from the server: input rows by position + the scope columns."""
    rows = pd.read_parquet(dataset_dir / "input.parquet")
    rows["ls_index"] = range(len(rows))
    scope = pd.read_parquet(dataset_dir / "scopes" / f"{scope_id}.parquet")
    return rows.merge(scope[["ls_index", "x", "y", "cluster", "label"]], on="ls_index").set_index(
        "ls_index", drop=False
    )


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file with its size and mtime: to prove the server wrote nothing."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def where(*conditions: dict[str, object]) -> str:
    return json.dumps(list(conditions))
