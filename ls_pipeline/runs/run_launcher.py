"""Dagster's default run launcher, with the worker health check it lacks, so run monitoring notices a dead run worker.

DefaultRunLauncher starts each run in a process of its code server. The code server fails the run if that process
dies while the server lives; if the server goes too (the OOM killer or `kill -9` of a process tree, a machine going
down), the run stays STARTED, holding its pool slots, and the daemon's run monitoring (enabled in dagster.yaml) cannot
tell, since the launcher says it does not check workers. This one records the worker's host when the code server is
on this machine, and answers the health check from the worker's pid (run_process.py); run monitoring then marks a
dead worker's run failed and `free_slots_after_run_end_seconds` frees its slots. dagster.yaml names it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import dagster as dg

from ls_pipeline.runs.run_process import HOST_TAG, judge, this_host

if TYPE_CHECKING:
    from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext

LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class HealthCheckingRunLauncher(dg.DefaultRunLauncher):
    def launch_run(self, context: LaunchRunContext) -> None:
        from dagster._core.storage.tags import GRPC_INFO_TAG  # where DefaultRunLauncher notes the code server

        super().launch_run(context)
        run = self._instance.get_run_by_id(context.dagster_run.run_id)
        server = json.loads(run.tags.get(GRPC_INFO_TAG, "{}")) if run else {}
        if server.get("socket") or server.get("host") in LOOPBACK:  # a code server here starts workers here
            self._instance.add_run_tags(context.dagster_run.run_id, {HOST_TAG: this_host()})

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        from dagster._core.launcher import CheckRunHealthResult, WorkerStatus  # not exported by dagster

        verdict = judge(self._instance, run)
        # Run monitoring fails any run not reported RUNNING: a run that cannot be judged from here is left alone.
        status = WorkerStatus.FAILED if verdict.alive is False else WorkerStatus.RUNNING
        return CheckRunHealthResult(status, verdict.reason)
