"""The code location as Dagster's own tools load it, and a run launched through the webserver's GraphQL API."""

from __future__ import annotations

import json
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
from ls_pipeline.runs.launch import dagster_process
from ls_pipeline.runs.runner import dagster_home
from ls_pipeline.store import DataDir
from tests.conftest import DEMO

# The GraphQL client's own transport library warns about its internals, not about our calls.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:gql")
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


WORKSPACE = str(ROOT / "workspace.yaml")


@pytest.fixture(autouse=True)
def hostile_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test here runs from a folder whose .env names another data directory and instance, as the one `ls-init`
    writes does: Dagster's CLI loads such a file over the environment unless started as the launcher starts it."""
    work = tmp_path / "work"
    work.mkdir()
    hostile = f"LATENT_SCOPE_DATA={tmp_path / 'hostile-data'}\nDAGSTER_HOME={tmp_path / 'hostile-home'}\n"
    (work / ".env").write_text(hostile)
    monkeypatch.chdir(work)
    yield work
    assert not (tmp_path / "hostile-data").exists() and not (tmp_path / "hostile-home").exists()


def env_for(data_dir: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, str], Path]:
    """The environment and working directory the launcher gives Dagster's processes, plus this checkout's code."""
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    env, cwd = dagster_process(DataDir(data_dir))
    return {**env, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}, cwd


def test_instance_config_limits_concurrency(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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


def start(args: list[str], launch: tuple[dict[str, str], Path], log: Path) -> subprocess.Popen[bytes]:
    # Its own process group, stopped with SIGINT to the group: Dagster's children (code servers, runs) go too.
    env, cwd = launch
    with open(log, "wb") as out:
        return subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


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
def server(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, Path]]:
    """`dg dev` through the launcher, as scripts/dagster.sh starts it: the webserver on a free loopback port and the
    daemon that dequeues its runs, on one instance."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    # Create the SQLite schema once, before two processes race to create it, and the partition the run uses.
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        instance.add_dynamic_partitions("datasets", ["posts"])
    launch, port = env_for(data_dir, home, monkeypatch), free_port()
    dev = [sys.executable, "-m", "ls_pipeline.runs.launch", str(BIN / "dg"), "dev", "-w", WORKSPACE]
    processes = [start([*dev, "-h", "127.0.0.1", "-p", str(port)], launch, tmp_path / "dg-dev.log")]
    try:
        wait_until_responds(f"http://127.0.0.1:{port}/server_info", processes, tmp_path / "dg-dev.log")
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


def test_run_launched_through_graphql(
    server: tuple[int, Path], data_dir: Path, tmp_path: Path, sample_frame: pd.DataFrame
) -> None:
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
    log = (tmp_path / "dg-dev.log").read_text().lower()  # `dg dev`, not the superseded `dagster dev`
    assert "launching dagster services" in log and "superseded" not in log and "deprecat" not in log


def test_a_run_past_the_job_timeout_is_stopped_and_its_import_says_so(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
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
    # Enough rows that the run outlasts the 4 s limit plus a 3 s monitoring poll even on a quiet machine, where a
    # few hundred rows can finish between two polls; stopped a few seconds in, the run never embeds them all.
    pd.read_parquet(DEMO).head(1500).to_csv(inbox / "posts.csv", index=False)
    os.utime(inbox / "posts.csv", (time.time() - 60, time.time() - 60))
    env, cwd = env_for(data_dir, home, monkeypatch)
    launch = {**env, "LATENT_SCOPE_JOB_TIMEOUT_SEC": "4"}, cwd
    daemon = start([str(BIN / "dagster-daemon"), "run", "-w", WORKSPACE], launch, tmp_path / "daemon.log")
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


def test_the_launcher_keeps_the_environment_over_a_dotenv(
    data_dir: Path, hostile_dotenv: Path, sample_frame: pd.DataFrame
) -> None:
    """Started through the launcher from a folder with a hostile .env, a Dagster command (which loads ./.env over the
    environment) materializes into the exported data directory and instance; the file's are never touched."""
    source = data_dir / "posts.csv"
    sample_frame.head(20).to_csv(source, index=False)
    home = data_dir / "_dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        instance.add_dynamic_partitions("datasets", ["posts"])
    command = [sys.executable, "-m", "ls_pipeline.runs.launch", str(BIN / "dagster"), "asset", "materialize"]
    command += ["-m", "ls_pipeline.definitions", "--select", "ingest", "--partition", "posts"]
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}  # DAGSTER_HOME from the default rule
    done = subprocess.run(
        [*command, "--config-json", json.dumps(ingest_run_config(source))],
        cwd=hostile_dotenv,
        env={**env, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert '"length": 20' in (data_dir / "posts" / "meta.json").read_text()
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        assert [run.status for run in instance.get_runs()] == [dg.DagsterRunStatus.SUCCESS]


def test_the_daemon_takes_an_inbox_file_to_a_scope_by_automation(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample_frame: pd.DataFrame
) -> None:
    """The real daemon on the project's own code location: the inbox sensor ingests a dropped file, and the recipe
    stages' automation conditions (a custom one, evaluated in the code server) run the default recipe to a scope."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    with dg.DagsterInstance.local_temp(str(home)):
        pass  # the SQLite schema, created before the daemon's threads race to create it
    inbox = data_dir / "_inbox"
    inbox.mkdir()
    sample_frame.head(200).to_csv(inbox / "posts.csv", index=False)
    os.utime(inbox / "posts.csv", (time.time() - 60, time.time() - 60))
    log = tmp_path / "daemon.log"
    daemon = start([str(BIN / "dagster-daemon"), "run", "-w", WORKSPACE], env_for(data_dir, home, monkeypatch), log)
    scope = data_dir / "posts" / "scopes" / "scopes-001.json"
    try:
        deadline = time.monotonic() + 600
        while not scope.is_file() and time.monotonic() < deadline:
            assert daemon.poll() is None, log.read_text()[-3000:]
            time.sleep(2)
    finally:
        stop([daemon])
    assert scope.is_file(), log.read_text()[-3000:]
    with dg.DagsterInstance.local_temp(str(home)) as instance:
        runs = instance.get_runs()
        # One ingest run (the inbox sensor's), one recipe run (automation's), both done (the curation sensor's
        # export run may follow).
        [ingest_run] = [run for run in runs if run.job_name == "ingest_job"]
        [recipe_run] = [run for run in runs if run.job_name == "__ASSET_JOB"]
        assert ingest_run.status == recipe_run.status == dg.DagsterRunStatus.SUCCESS
        assert recipe_run.tags["dagster/partition"] == "posts|default"
