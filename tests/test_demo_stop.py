"""scripts/demo.sh stops everything it started on one Ctrl-C: started by a script (SIGINT ignored, as a background job
of a non-interactive shell inherits it) and from a terminal (a pty, where Ctrl-C is the byte \\x03), after its UIs
were used and while a run launched from the Dagster UI may be in progress."""

from __future__ import annotations

import json
import os
import pty
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
from dagster_graphql import DagsterGraphQLClient

from ls_pipeline.defs.assets import ingest_run_config
from tests.browser import chromium, free_port
from tests.conftest import DEMO

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:gql")
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STOP_S = 10  # what the demo promises: everything it started is gone this long after Ctrl-C
ROWS = 200  # enough for the default recipe's checks; the bundled 3,000 rows would embed for minutes, twice


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small demo file and a data directory that already holds its scope, so each demo's `ls-run` reuses every
    stage instead of embedding again. Made by the same command without Dagster; the instance is left out."""
    folder = tmp_path_factory.mktemp("demo-template")
    source, data = folder / "packages.parquet", folder / "data"
    pd.read_parquet(DEMO).head(ROWS).to_parquet(source)
    env = {**os.environ, "LATENT_SCOPE_DATA": str(data), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [str(BIN / "ls-run"), str(source), "--no-dagster"], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return source, data


def ignored_signals(command: list[str], env: dict[str, str]) -> set[int]:
    """The signals `command` (which ends by exec'ing grep on its own /proc status) starts with ignored."""
    done = subprocess.run(
        [*command, "grep", "SigIgn", "/proc/self/status"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    mask = int(done.stdout.split()[1], 16)
    return {number for number in range(1, 64) if mask & (1 << (number - 1))}


def test_the_launcher_gives_dagster_working_stop_signals(tmp_path: Path) -> None:
    """Started with SIGINT and SIGTERM ignored (a background job of a script), the launcher still hands the program
    it becomes both signals with their default handling, so `dg dev` and its services stop on them."""
    env = {**os.environ, "LATENT_SCOPE_DATA": str(tmp_path / "data")}
    ignoring = ["env", "--ignore-signal=INT,TERM"]
    assert {signal.SIGINT, signal.SIGTERM} <= ignored_signals(ignoring, env)  # what the launcher is given
    launched = ignored_signals([*ignoring, sys.executable, "-m", "ls_pipeline.runs.launch"], env)
    assert signal.SIGINT not in launched and signal.SIGTERM not in launched


def demo_env(prepared: tuple[Path, Path], tmp_path: Path) -> tuple[dict[str, str], Path, int, int]:
    """The demo's environment on a copy of the prepared data directory (its path is the marker every process the demo
    starts carries in its environment), with free ports and no setup (the suite's environment is set up already)."""
    source, template = prepared
    data = tmp_path / "demo-data"
    shutil.copytree(template, data, ignore=shutil.ignore_patterns("_dagster"))
    viewer_port, dagster_port = free_port(), free_port()
    env = {
        **os.environ,
        "LATENT_SCOPE_DATA": str(data),
        "LS_DEMO_FILE": str(source),
        "LS_SKIP_SETUP": "1",
        "LS_PORT": str(viewer_port),
        "LS_DAGSTER_PORT": str(dagster_port),
    }
    return env, data, viewer_port, dagster_port


def proc_fields(pid: int) -> tuple[str, int, int]:
    """A process's state, process group and session, from /proc (after the command name, which may hold spaces)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return fields[0], int(fields[2]), int(fields[3])


def demo_processes(session: int, marker: str) -> dict[int, str]:
    """Every live process of the demo: in its session, or carrying its data directory in its command line or
    environment (which also finds one that left the session). Zombies are dead already: they only wait for a reaper."""
    found, needle = {}, marker.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            state, _group, sid = proc_fields(int(entry.name))
            command = (entry / "cmdline").read_bytes()
            marked = needle in command or needle in (entry / "environ").read_bytes()
        except OSError:  # ended meanwhile
            continue
        if state != "Z" and (sid == session or marked):
            found[int(entry.name)] = command.replace(b"\0", b" ").decode(errors="replace")[:160]
    return found


def kill_all(session: int, marker: str) -> None:
    """SIGKILL whatever of the demo is still up: its process groups and any marked process outside them."""
    for pid in demo_processes(session, marker):
        try:
            os.killpg(proc_fields(pid)[1], signal.SIGKILL)
        except OSError:
            pass
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def wait_until_up(demo: subprocess.Popen, viewer_port: int, dagster_port: int, log: Path) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert demo.poll() is None, f"the demo exited ({demo.returncode}): {log.read_text(errors='replace')[-3000:]}"
        up = answers(f"http://127.0.0.1:{viewer_port}/api/datasets")
        if up and answers(f"http://127.0.0.1:{dagster_port}/server_info"):
            return
        time.sleep(1)
    raise AssertionError(f"the demo did not serve both UIs in 300 s: {log.read_text(errors='replace')[-3000:]}")


def assert_all_gone(session: int, marker: str, log: Path) -> float:
    """Seconds until no process of the demo is left; fails past STOP_S, naming what is still running."""
    started = time.monotonic()
    while time.monotonic() - started < STOP_S:
        if not demo_processes(session, marker):
            return time.monotonic() - started
        time.sleep(0.1)
    left = demo_processes(session, marker)
    assert not left, f"still running {STOP_S} s after Ctrl-C: {left}\n{log.read_text(errors='replace')[-3000:]}"
    return time.monotonic() - started


@pytest.fixture
def stopped_at_last(tmp_path: Path) -> Iterator[list[tuple[int, str]]]:
    """Sessions to clean up whatever the test's outcome: SIGKILL for every process of each."""
    sessions: list[tuple[int, str]] = []
    yield sessions
    for session, marker in sessions:
        kill_all(session, marker)


def test_the_demo_started_by_a_script_stops_on_sigint_with_a_run_in_progress(
    prepared: tuple[Path, Path], tmp_path: Path, stopped_at_last: list[tuple[int, str]]
) -> None:
    env, data, viewer_port, dagster_port = demo_env(prepared, tmp_path)
    log = tmp_path / "demo.log"
    # As `bash scripts/demo.sh &` in a script leaves it: SIGINT ignored. Its own session, so its group is its own.
    with open(log, "wb") as out:
        demo = subprocess.Popen(
            ["env", "--ignore-signal=INT", "bash", "scripts/demo.sh"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stopped_at_last.append((demo.pid, str(data)))
    wait_until_up(demo, viewer_port, dagster_port, log)
    with urllib.request.urlopen(f"http://127.0.0.1:{viewer_port}/api/datasets", timeout=10) as response:
        assert "packages" in json.dumps(json.load(response))
    # A run launched through the UI's GraphQL API, the way the launchpad does; Ctrl-C once it has started.
    client = DagsterGraphQLClient("127.0.0.1", port_number=dagster_port)
    run_id = client.submit_job_execution(
        "ingest_job", run_config=ingest_run_config(prepared[0]), tags={"dagster/partition": "packages"}
    )
    deadline, status = time.monotonic() + 120, None
    while time.monotonic() < deadline and status in (None, dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING):
        time.sleep(0.5)
        status = client.get_run_status(run_id)
    assert status not in (None, dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING), "the run never started"
    assert demo_processes(demo.pid, str(data))
    os.killpg(demo.pid, signal.SIGINT)
    assert_all_gone(demo.pid, str(data), log)
    assert demo.wait(timeout=5) == 130


def test_the_demo_in_a_terminal_stops_on_ctrl_c_with_its_uis_open(
    prepared: tuple[Path, Path], tmp_path: Path, stopped_at_last: list[tuple[int, str]]
) -> None:
    env, data, viewer_port, dagster_port = demo_env(prepared, tmp_path)
    log = tmp_path / "demo.log"
    # A terminal: the demo leads a new session whose controlling terminal is a pty; the pty's output goes to the log.
    terminal, tty = pty.openpty()
    demo = subprocess.Popen(
        ["setsid", "--ctty", "bash", "scripts/demo.sh"], cwd=ROOT, env=env, stdin=tty, stdout=tty, stderr=tty
    )
    os.close(tty)
    stopped_at_last.append((demo.pid, str(data)))
    copier = threading.Thread(target=copy_terminal, args=(terminal, log), daemon=True)
    copier.start()
    wait_until_up(demo, viewer_port, dagster_port, log)
    assert proc_fields(demo.pid)[2] == demo.pid, "the demo does not lead its session"
    with chromium() as browser:
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{dagster_port}/assets")
        page.get_by_text("embedding", exact=True).first.wait_for(timeout=60_000)  # the UI lists our assets
        viewer = browser.new_page()
        viewer.goto(f"http://127.0.0.1:{viewer_port}/datasets/packages/explore/scopes-001")
        viewer.wait_for_selector("[data-testid=map][data-drawn=true]", timeout=60_000)  # the scope, drawn
        # Ctrl-C with both pages still open, as a user would press it.
        os.write(terminal, b"\x03")
        assert_all_gone(demo.pid, str(data), log)
    assert demo.wait(timeout=5) == 130
    copier.join(timeout=5)
    os.close(terminal)
    assert "stopping the demo" in log.read_text(errors="replace")


def copy_terminal(terminal: int, log: Path) -> None:
    """Drain the pty into the log, so the demo never blocks on a full terminal; ends when the last writer is gone."""
    with open(log, "wb") as out:
        while True:
            try:
                chunk = os.read(terminal, 65536)
            except OSError:  # EIO: every process holding the terminal has exited
                return
            if not chunk:
                return
            out.write(chunk)
            out.flush()
