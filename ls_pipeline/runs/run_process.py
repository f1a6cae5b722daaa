"""Which process runs a Dagster run, and whether it is still there.

Dagster records a run's status, not its process: a run whose process was SIGKILLed (the OOM killer, `kill -9`, a
machine going down) stays STARTED for ever, with the pool slots it claimed. So every run records its process when it
starts: `ls-run` tags its in-process runs with its host, pid and process start time (`process_tags`); for runs the
daemon or the UI launch, our run launcher (run_launcher.py) tags the host, and the run worker's pid is in Dagster's
"Started process for run (pid: N)" engine event, written when that process started.

A process is the run's when a process with that pid exists on the run's host, is not a zombie, and started no later
than the run recorded it: a pid reused by a later process (or after a reboot) started after that. A run on another
host is never judged by pid; it is left alone, to be judged where it runs (no heartbeat crosses hosts here).
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time

import dagster as dg

HOST_TAG = "latent_scope/host"
PID_TAG = "latent_scope/pid"
STARTED_TAG = "latent_scope/process_started"  # seconds since the epoch, from /proc
# /proc/stat's boot time has whole seconds, and the engine event is written just after its process starts.
SAME_START_S = 2.0
STARTED_PROCESS = "Started process for run (pid: "  # the run worker's engine event (dagster/_grpc/impl.py)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What is known of a run's process: alive True or False, or None where it cannot be judged from here."""

    alive: bool | None
    reason: str


def this_host() -> str:
    return socket.gethostname()


def process_tags() -> dict[str, str]:
    """Run tags naming this process, for a run that it executes itself."""
    started = process_started(os.getpid())
    tags = {HOST_TAG: this_host(), PID_TAG: str(os.getpid())}
    if started is not None:
        tags[STARTED_TAG] = f"{started:.2f}"
    return tags


def process_started(pid: int) -> float | None:
    """When process `pid` started, in seconds since the epoch; None if it is gone, a zombie, or /proc is missing."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()  # the command name, in parentheses, may hold spaces
        with open("/proc/stat") as system:
            boot = next(float(line.split()[1]) for line in system if line.startswith("btime "))
    except (OSError, StopIteration, IndexError, ValueError):
        return None
    if fields[0] in ("Z", "X"):  # dead, its parent not having collected it yet
        return None
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of the man page: start time in ticks


def pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def recorded_process(instance: dg.DagsterInstance, run: dg.DagsterRun) -> tuple[int, float] | None:
    """(pid, a time the process had started by) from the run's tags, else from its run worker's engine event."""
    tags = run.tags
    if tags.get(PID_TAG, "").isdigit():
        started = tags.get(STARTED_TAG)
        return int(tags[PID_TAG]), float(started) if started else time.time()
    records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT).records
    for record in records:
        message = record.event_log_entry.message or ""
        if message.startswith(STARTED_PROCESS):
            pid = message[len(STARTED_PROCESS) :].split(")")[0]
            if pid.isdigit():
                return int(pid), record.event_log_entry.timestamp
    return None


def judge(instance: dg.DagsterInstance, run: dg.DagsterRun) -> Verdict:
    """Whether the process executing `run` is still there."""
    host = run.tags.get(HOST_TAG)
    if not host:
        return Verdict(None, "it records no host (started by another tool or an older version)")
    if host != this_host():
        return Verdict(None, f"it runs on host {host}, judged only there")
    recorded = recorded_process(instance, run)
    if recorded is None:
        return Verdict(None, "its process has not started yet")
    pid, started_by = recorded
    where = f"pid {pid} on {host}"
    if not pid_exists(pid):
        return Verdict(False, f"its process ({where}) is gone")
    started = process_started(pid)
    if started is None:
        if os.path.isdir("/proc/self"):  # Linux: a zombie, or gone since the look above
            return Verdict(False, f"its process ({where}) has exited")
        return Verdict(True, f"a process {where} exists")  # no /proc (not Linux): an existing pid counts as the run's
    if started > started_by + SAME_START_S:
        return Verdict(False, f"its process ({where}) is gone; that pid now belongs to a later process")
    return Verdict(True, f"its process ({where}) is running")
