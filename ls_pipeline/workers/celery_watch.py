"""Fail a Dagster step whose whole Celery worker node died, so its run ends instead of waiting forever.

When only a pool process dies, the node's main process reports the task as failed (WorkerLostError). When the main
process goes too (the machine is gone, or its process group is killed), nothing ever writes the task's result, and
Dagster's celery executor polls it for ever: Dagster checks the health of steps for the k8s and docker executors, not
for Celery's. The watch runs inside our celery executor (ls_pipeline/workers/celery_executor.py), so wherever the run
is orchestrated (`ls-run`, or the run worker of a run launched from the UI): it notes each step task the run publishes,
pings the node that started it (workers store STARTED with their hostname: `task_track_started`, set in
ls_pipeline/celery_worker.py) and, once the node has not answered for LS_CELERY_NODE_TIMEOUT_SEC, writes the failure
the node would have written. The executor then fails the run as for a dead pool process, and the rerun resumes.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

from ls_pipeline import settings

TIMEOUT_ENV = "LS_CELERY_NODE_TIMEOUT_SEC"
STEP_TASK = "execute_plan"  # dagster_celery.config.TASK_EXECUTE_PLAN_NAME

log = logging.getLogger(__name__)


def node_timeout_s(env: Mapping[str, str] | None = None) -> float:
    return settings.get(TIMEOUT_ENV, env)


@contextlib.contextmanager
def lost_nodes_fail_their_steps(app: Any, timeout_s: float) -> Iterator[None]:
    """While inside: every step task published from this process is watched until it has a result."""
    from celery.signals import after_task_publish

    tasks: set[str] = set()
    lock = threading.Lock()

    def note(sender: str | None = None, headers: dict[str, Any] | None = None, **_: Any) -> None:
        if sender == STEP_TASK and headers and headers.get("id"):
            with lock:
                tasks.add(headers["id"])

    stop = threading.Event()
    after_task_publish.connect(note, weak=False)
    watcher = threading.Thread(
        target=_watch, args=(app, tasks, lock, stop, timeout_s), daemon=True, name="celery node watch"
    )
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        after_task_publish.disconnect(note)
        watcher.join(timeout=10)


def _watch(app: Any, tasks: set[str], lock: threading.Lock, stop: threading.Event, timeout_s: float) -> None:
    from billiard.exceptions import WorkerLostError
    from celery import states

    last_seen: dict[str, float] = {}  # node -> when it last answered a ping
    interval = min(5.0, timeout_s / 3)
    while not stop.wait(interval):
        try:
            with lock:
                watched = list(tasks)
            running: dict[str, list[str]] = {}
            for task_id in watched:
                result = app.AsyncResult(task_id)
                state = result.state
                if state in states.READY_STATES:
                    with lock:
                        tasks.discard(task_id)
                elif state == states.STARTED and isinstance(result.info, dict) and result.info.get("hostname"):
                    running.setdefault(result.info["hostname"], []).append(task_id)
            if not running:
                continue
            now = time.monotonic()
            for reply in app.control.ping(destination=list(running), timeout=min(2.0, interval)):
                for node in reply:
                    last_seen[node] = now
            for node, ids in running.items():
                seen = last_seen.setdefault(node, now)  # first sight of a node counts as an answer
                if now - seen < timeout_s:
                    continue
                message = (
                    f"Celery worker node {node} stopped answering for {timeout_s:.0f}s while running the Dagster step"
                )
                log.warning(message)
                for task_id in ids:
                    app.backend.mark_as_failure(task_id, WorkerLostError(message))
                    with lock:
                        tasks.discard(task_id)
        except Exception:  # a broker hiccup must not end the watch; the next round tries again
            log.debug("celery node watch round failed", exc_info=True)
