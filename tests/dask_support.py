"""A real Dask cluster on loopback for tests and bench/: `dask scheduler` and `dask worker` subprocesses.

Workers run without a nanny, so a SIGKILL to a worker's process is a dead worker (a nanny would restart it), and
single-threaded (torch too), so two of them share the two cores fairly.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DASK = str(Path(sys.executable).with_name("dask"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def worker_env() -> dict[str, str]:
    """This process's environment (offline, the test HF_HOME) with this checkout importable and one thread."""
    return {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


class LoopbackCluster:
    """One scheduler and any number of workers, each its own process; stopped (SIGKILL) by `close`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []

    def start_scheduler(self) -> None:
        args = [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(self.port)]
        self.scheduler = _spawn([*args, "--dashboard-address", "127.0.0.1:0", "--no-show"])

    def start_workers(self, count: int, wait_s: float = 60) -> None:
        args = [DASK, "worker", self.address, "--nthreads", "1", "--no-nanny", "--host", "127.0.0.1"]
        self.workers += [_spawn([*args, "--no-dashboard"]) for _ in range(count)]
        with self.client() as client:
            client.wait_for_workers(sum(w.poll() is None for w in self.workers), timeout=wait_s)

    def client(self) -> Any:
        from distributed import Client

        return Client(self.address, timeout=30, set_as_default=False)

    def worker_pids(self) -> dict[str, int]:
        """Live workers by address."""
        with self.client() as client:
            return {address: int(pid) for address, pid in client.run(os.getpid).items()}

    def kill_scheduler(self) -> None:
        assert self.scheduler is not None
        self.scheduler.send_signal(signal.SIGKILL)
        self.scheduler.wait(timeout=30)

    def close(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(timeout=30)


def _spawn(args: list[str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(args, env=worker_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.2)  # a scheduler that cannot bind its port exits at once: say so here, not in a timeout later
    if process.poll() is not None:
        raise RuntimeError(f"{args[1]} exited at once with {process.returncode}")
    return process
