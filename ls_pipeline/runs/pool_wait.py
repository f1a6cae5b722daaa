"""`ls-run` waiting for a pool slot: it says which run it waits for, sleeps, and stops on Ctrl-C or SIGTERM.

Dagster's own wait for a slot, inside an in-process run, spins a core, prints nothing and holds SIGINT and SIGTERM
until a step starts; behind a dead run's slot it never ends. So `ls-run` waits before it hands a run to Dagster
(`wait_for_pools`), while Dagster would have to wait, and clears stuck runs while it waits. A run can still lose a
race for the slot, or queue for its second heavy step behind another run's first: for that wait, inside Dagster,
`watch_run` clears stuck runs, says what the run waits for, and turns a Ctrl-C or SIGTERM into the interruption Dagster
would raise at its next step, at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import logging
import os
import select
import signal
import threading
import time
from collections.abc import Iterator

import dagster as dg

from ls_pipeline.runs.stuck_runs import clear_and_log, clock, describe_run

POLL_S = 1.0

log = logging.getLogger(__name__)


def pools_of(job: dg.JobDefinition) -> list[str]:
    return sorted({node.definition.pool for node in job.nodes_in_topological_order if node.definition.pool})


def waiting_line(instance: dg.DagsterInstance, pools: list[str], own_run_id: str | None = None) -> str | None:
    """`waiting for POOL, held by run R since T` for the first pool whose slots other runs hold; None if all free."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return None
    for pool in pools:
        info = storage.get_concurrency_info(pool)
        held = [step for step in info.pending_steps if step.assigned_timestamp and step.run_id != own_run_id]
        if info.limit is None or len(held) < info.limit:
            continue
        holders = []
        for step in sorted(held, key=lambda step: step.assigned_timestamp or datetime.datetime.min):
            record = instance.get_run_record_by_id(step.run_id)
            started = record.start_time if record else None
            run = describe_run(record.dagster_run, started) if record else step.run_id[:8]
            holders.append(f"run {run} since {clock(step.assigned_timestamp)}")
        return f"waiting for {pool}, held by {', '.join(holders)}"
    return None


def wait_for_pools(instance: dg.DagsterInstance, pools: list[str]) -> None:
    """Return once each of `pools` has a free slot, clearing runs whose process died meanwhile. SIGTERM stops the
    wait as Ctrl-C does (KeyboardInterrupt): nothing has started, nothing is left behind."""
    said = None
    with sigterm_interrupts():
        while True:
            clear_and_log(instance)
            line = waiting_line(instance, pools)
            if line is None:
                return
            if line != said:
                log.warning(line)
                said = line
            time.sleep(POLL_S)


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


class RunWatch:
    """While a run executes in this process: notices when it waits inside Dagster for a slot, and what came of it."""

    def __init__(self, instance: dg.DagsterInstance, run_id: str, pools: list[str]) -> None:
        self.instance, self.run_id, self.pools = instance, run_id, pools
        self.interrupted = False  # a signal ended the run's wait for a slot

    def waiting(self) -> bool:
        storage = self.instance.event_log_storage
        return any(
            step.run_id == self.run_id and step.assigned_timestamp is None
            for pool in self.pools
            for step in storage.get_concurrency_info(pool).pending_steps
        )

    def loop(self, signals: int, stop: threading.Event) -> None:
        said = None
        while not stop.is_set():
            ready, _, _ = select.select([signals], [], [], POLL_S)
            signaled = bool(ready) and bool(os.read(signals, 64))
            try:
                if not self.waiting():
                    said = None
                    continue
                if signaled:
                    self.interrupted = True
                    interrupt_main_thread()
                    return
                clear_and_log(self.instance)
                line = waiting_line(self.instance, self.pools, self.run_id)
                if line and line != said:
                    log.warning(line)
                    said = line
            except Exception:  # a busy database must not end the watch: the next round looks again
                log.debug("run watch round failed", exc_info=True)


def interrupt_main_thread() -> None:
    """Raise Dagster's interruption in the main thread, where Dagster's wait for a slot loops in Python. Dagster's own
    signal handler only notes a signal for its next step, and no step starts while the slot is held."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(threading.main_thread().ident or 0), ctypes.py_object(dg.DagsterExecutionInterruptedError)
    )


@contextlib.contextmanager
def watch_run(instance: dg.DagsterInstance, run_id: str, pools: list[str]) -> Iterator[RunWatch]:
    """Watch run `run_id` (about to execute in this thread, the main one) while inside."""
    watch = RunWatch(instance, run_id, pools)
    if not pools or threading.current_thread() is not threading.main_thread():
        yield watch
        return
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    before = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)  # each signal also writes a byte here
    stop = threading.Event()
    thread = threading.Thread(target=watch.loop, args=(read_end, stop), daemon=True, name="ls-run watch")
    thread.start()
    try:
        yield watch
    finally:
        stop.set()
        signal.set_wakeup_fd(before)
        thread.join(timeout=10)
        os.close(read_end)
        os.close(write_end)
