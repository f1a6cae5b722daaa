"""The code location as Dagster's own tools load it, and a run launched through the webserver's GraphQL API."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from dagster_graphql import DagsterGraphQLClient

from ls_pipeline.defs.assets import ingest_run_config
from ls_pipeline.defs.runner import dagster_home

# The GraphQL client's own transport library warns about its internals, not about our calls.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:gql")
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def env_for(data_dir: Path, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "LATENT_SCOPE_DATA": str(data_dir),
        "DAGSTER_HOME": str(home),
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",
    }


def test_definitions_validate(data_dir: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [BIN / "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=ROOT,
        env=env_for(data_dir, tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "All code locations passed validation" in done.stderr + done.stdout


def test_instance_config_limits_concurrency(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ls_pipeline.store import DataDir

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = dagster_home(DataDir(data_dir))
    assert home == data_dir / "_dagster" and (home / "dagster.yaml").read_text() == (ROOT / "dagster.yaml").read_text()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        config = instance.get_concurrency_config()
        assert config.run_queue_config.max_concurrent_runs == 1
        assert config.pool_config.default_pool_limit == 1
        assert instance.is_persistent and Path(instance.root_directory) == home


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    # Its own process group, stopped with SIGINT to the group: Dagster's children (code servers, runs) go too.
    with open(log, "wb") as out:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGINT to every group at once, then wait; SIGKILL what is still up after 20 s."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        os.killpg(process.pid, signal.SIGINT)
    for process in running:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture
def server(data_dir: Path, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """dagster-webserver on a free loopback port, and the daemon that dequeues its runs, on one instance."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    # Create the SQLite schema once, before two processes race to create it, and the partition the run uses.
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        instance.add_dynamic_partitions("datasets", ["posts"])
    env, port = env_for(data_dir, home), free_port()
    processes = [
        start([str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"], env, tmp_path / "daemon.log"),
        start(
            [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            env,
            tmp_path / "webserver.log",
        ),
    ]
    try:
        wait_until_responds(f"http://127.0.0.1:{port}/server_info", processes, tmp_path / "webserver.log")
        yield port, home
    finally:
        stop(processes)


def wait_until_responds(url: str, processes: list[subprocess.Popen[bytes]], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert all(p.poll() is None for p in processes), log.read_text()[-3000:]
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer in {timeout}s: {log.read_text()[-3000:]}")


def test_run_launched_through_graphql(server: tuple[int, Path], data_dir: Path, sample_frame: pd.DataFrame) -> None:
    port, _home = server
    source = data_dir / "posts.csv"
    sample_frame.head(25).to_csv(source, index=False)
    client = DagsterGraphQLClient("127.0.0.1", port_number=port)
    run_id = client.submit_job_execution(
        "ingest_job", run_config=ingest_run_config(source), tags={"dagster/partition": "posts"}
    )
    deadline, status = time.monotonic() + 150, None
    while time.monotonic() < deadline:
        status = client.get_run_status(run_id)
        if status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
            break
        time.sleep(1)
    assert status == dg.DagsterRunStatus.SUCCESS
    meta = (data_dir / "posts" / "meta.json").read_text()
    assert '"length": 25' in meta and '"source": "posts.csv"' in meta


def test_a_run_past_the_job_timeout_is_stopped_and_its_import_says_so(
    data_dir: Path, tmp_path: Path, sample_frame: pd.DataFrame
) -> None:
    """The real daemon: the inbox sensor starts runs tagged from LATENT_SCOPE_JOB_TIMEOUT_SEC, run monitoring stops
    the one that goes past it, and a run status sensor leaves the reason where the import's status reads it."""
    home = tmp_path / "home"
    home.mkdir()
    config = (ROOT / "dagster.yaml").read_text()
    assert "poll_interval_seconds: 30" in config
    (home / "dagster.yaml").write_text(config.replace("poll_interval_seconds: 30", "poll_interval_seconds: 3"))
    with dg.DagsterInstance.local_temp(str(home)):
        pass  # the SQLite schema, created before the daemon's threads race to create it
    inbox = data_dir / "_inbox"
    inbox.mkdir()
    sample_frame.head(300).to_csv(inbox / "posts.csv", index=False)
    os.utime(inbox / "posts.csv", (time.time() - 60, time.time() - 60))
    env = {**env_for(data_dir, home), "LATENT_SCOPE_JOB_TIMEOUT_SEC": "4"}
    daemon = start([str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"], env, tmp_path / "daemon.log")
    note = inbox / "_rejected" / "posts.csv.error.txt"
    try:
        deadline = time.monotonic() + 300
        while not note.is_file() and time.monotonic() < deadline:
            assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
            time.sleep(2)
    finally:
        stop([daemon])
    assert note.is_file(), (tmp_path / "daemon.log").read_text()[-3000:]
    assert "run failed: the run took longer than LATENT_SCOPE_JOB_TIMEOUT_SEC=4 s and was stopped" in note.read_text()
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        runs = instance.get_runs()
        assert runs and all(run.tags.get("dagster/max_runtime") == "4" for run in runs)
        assert not any(run.status == dg.DagsterRunStatus.SUCCESS and run.job_name == "recipe_job" for run in runs)
    assert not (data_dir / "posts" / "scopes").is_dir() or not list((data_dir / "posts" / "scopes").iterdir())
