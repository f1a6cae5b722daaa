"""Dagster workers on loopback for tests: Debian's redis-server (the Celery broker), Debian's PostgreSQL (the shared
instance), the moto S3 server (the data directory) and Celery workers, each its own process on 127.0.0.1.

PostgreSQL refuses to run as root, and CI runs as root: then initdb and postgres run as `nobody` (subprocess's
`user=`), in a folder of /tmp that user owns. Two Celery worker nodes stand for two kinds of machine: `light` takes
the default queue, `heavy` (two processes) the ls_gpu and ls_memory queues (ls_pipeline/workers/placement.py).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.s3_support import S3Server, free_port, start_s3_server

REPO = Path(__file__).resolve().parents[1]
CELERY = str(Path(sys.executable).with_name("celery"))
DEFAULT_QUEUE, HEAVY_QUEUES = "dagster", "ls_gpu,ls_memory"


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start on 127.0.0.1:{port}") from None
            time.sleep(0.1)


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    args = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", str(folder), "--save", ""]
    process = subprocess.Popen([*args, "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_port(port, process, "redis-server")
    return process, f"redis://127.0.0.1:{port}/0"


def _postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"no {name} under /usr/lib/postgresql/*/bin: run scripts/setup.sh (installs postgresql)")
    return found[-1]


def start_postgres() -> tuple[subprocess.Popen[bytes], str, Path]:
    """initdb in a fresh folder and `postgres` on a free port, as this user (or `nobody` when this is root)."""
    folder = Path(tempfile.mkdtemp(prefix="ls-postgres-"))
    user = "nobody" if os.getuid() == 0 else None
    if user:
        shutil.chown(folder, user)
    data, port = folder / "data", free_port()
    as_user: dict[str, Any] = {"user": user} if user else {}
    init = [_postgres_bin("initdb"), "-D", str(data), "-U", "dagster", "--auth=trust", "-E", "UTF8", "--locale=C"]
    subprocess.run(init, check=True, capture_output=True, cwd=folder, **as_user)
    server = [_postgres_bin("postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port), "-k", str(folder)]
    process = subprocess.Popen(server, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=folder, **as_user)
    _wait_for_port(port, process, "postgres")
    return process, f"postgresql://dagster@127.0.0.1:{port}/postgres", folder


@dataclass
class LoopbackWorkers:
    """The services, and the environment every process of a run needs (the run's own, the workers', ls-run's)."""

    s3: S3Server
    broker: str
    postgres_url: str
    home: Path  # DAGSTER_HOME: the PostgreSQL dagster.yaml
    scratch: Path
    data: str  # s3://bucket/data: the data_dir resource reads LATENT_SCOPE_DATA in the worker's process, so one
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            **self.s3.env(),
            "PYTHONPATH": str(REPO),
            "HF_HUB_OFFLINE": "1",
            "OMP_NUM_THREADS": "1",
            "LS_EXECUTOR": "celery",
            "LS_CELERY_BROKER": self.broker,
            "LS_POSTGRES_URL": self.postgres_url,
            "DAGSTER_HOME": str(self.home),
            "LATENT_SCOPE_DATA": self.data,
            "LATENT_SCOPE_SCRATCH": str(self.scratch),
            "LATENT_SCOPE_LEASE_SEC": "10",  # a killed worker's hold on a dataset ends soon after it dies
            "LS_CELERY_NODE_TIMEOUT_SEC": "6",  # and ls-run gives up on a silent node soon after
        }

    def start_worker(self, name: str, queues: str, processes: int, log: Path) -> None:
        args = [CELERY, "-A", "ls_pipeline.celery_worker", "worker", "-n", f"{name}@%h", "-Q", queues]
        args += ["--concurrency", str(processes), "--prefetch-multiplier", "1", "--loglevel", "INFO"]
        with log.open("ab") as out:  # its own session: close() kills the node and its pool processes together
            self.workers[name] = subprocess.Popen(
                args, env=self.env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def app(self) -> Any:
        from celery import Celery

        return Celery("probe", broker=self.broker, backend="rpc://")

    def wait_for_workers(self, timeout_s: float = 120) -> dict[str, list[int]]:
        """Pool process ids by worker node name, once every started node answers."""
        deadline = time.monotonic() + timeout_s
        app = self.app()
        while True:
            stats = app.control.inspect(timeout=1.0).stats() or {}
            pools = {node.split("@")[0]: list(s["pool"]["processes"]) for node, s in stats.items()}
            if set(pools) >= set(self.workers):
                return pools
            if time.monotonic() > deadline or any(w.poll() is not None for w in self.workers.values()):
                raise RuntimeError(f"Celery workers {sorted(self.workers)} did not all start; up: {sorted(pools)}")
            time.sleep(0.5)

    def active_steps(self) -> list[dict[str, Any]]:
        """The tasks running now on any worker, each with its `hostname` and `worker_pid`."""
        active = self.app().control.inspect(timeout=1.0).active() or {}
        return [{**task, "hostname": node} for node, tasks in active.items() for task in tasks]

    def kill_node(self, name: str) -> None:
        """SIGKILL a whole worker node, its main process and its pool, as when its machine goes away."""
        process = self.workers.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def close(self) -> None:
        for process in self.workers.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # the node and its pool processes
            process.wait(timeout=30)


@contextlib.contextmanager
def loopback_workers(folder: Path) -> Iterator[LoopbackWorkers]:
    """Every service started here, stopped on the way out whatever happened."""
    from ls_pipeline.runs.runner import WORKERS_INSTANCE_CONFIG

    started: list[subprocess.Popen[bytes]] = []
    pg_folder: Path | None = None
    workers: LoopbackWorkers | None = None
    try:
        s3_process, s3 = start_s3_server()
        started.append(s3_process)
        redis, broker = start_redis(folder)
        started.append(redis)
        postgres, postgres_url, pg_folder = start_postgres()
        started.append(postgres)
        home = folder / "dagster_home"
        home.mkdir()
        (home / "dagster.yaml").write_bytes(WORKERS_INSTANCE_CONFIG.read_bytes())
        data = f"s3://{s3.new_bucket()}/data"
        workers = LoopbackWorkers(s3, broker, postgres_url, home, folder / "scratch", data)
        workers.start_worker("light", DEFAULT_QUEUE, 1, folder / "light.log")
        workers.start_worker("heavy", HEAVY_QUEUES, 2, folder / "heavy.log")
        workers.wait_for_workers()
        yield workers
    finally:
        if workers is not None:
            workers.close()
        for process in reversed(started):
            process.kill()
            process.wait(timeout=30)
        if pg_folder is not None:
            shutil.rmtree(pg_folder, ignore_errors=True)
