"""Where a run's Dagster steps execute: in the run's own process (the default), or on Celery workers when
LS_EXECUTOR=celery.

The choice is read from the environment when the code location loads, so `ls-run`, the Dagster UI and the daemon
pick the same executor from the same variables. The broker URL (password included) is read from the environment in
the run's and the workers' processes, never written to a file or the run config.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg

from ls_pipeline import settings
from ls_pipeline.errors import UserError

EXECUTOR_ENV = "LS_EXECUTOR"
BROKER_ENV = "LS_CELERY_BROKER"  # e.g. redis://HOST:6379/0; with a password: redis://:PASSWORD@HOST:6379/0
BACKEND_ENV = "LS_CELERY_BACKEND"
POSTGRES_ENV = "LS_POSTGRES_URL"  # dagster-postgres.yaml names it too: Dagster reads it in each process
IN_PROCESS, CELERY = "in_process", "celery"


def executor_name(env: Mapping[str, str] | None = None) -> str:
    return settings.get(EXECUTOR_ENV, env)


def on_workers(env: Mapping[str, str] | None = None) -> bool:
    """Whether Dagster steps run on Celery workers (then runs go through a persistent, shared instance)."""
    return executor_name(env) == CELERY


def check_settings(env: Mapping[str, str] | None = None) -> None:
    """One line naming what a Celery run lacks, before any run starts."""
    if not settings.get(BROKER_ENV, env):
        raise UserError(f"{EXECUTOR_ENV}=celery needs {BROKER_ENV}, the broker's URL, e.g. redis://127.0.0.1:6379/0")
    if not settings.get(POSTGRES_ENV, env):
        raise UserError(
            f"{EXECUTOR_ENV}=celery needs {POSTGRES_ENV}, the PostgreSQL instance every worker shares, e.g. "
            "postgresql://dagster:PASSWORD@10.0.0.5:5432/dagster; unset LS_EXECUTOR to run in this process"
        )
    from ls_pipeline.workers import celery_watch

    celery_watch.node_timeout_s(env)


def executor(env: Mapping[str, str] | None = None) -> dg.ExecutorDefinition:
    """The executor of every job: one process by default; Celery's when the environment asks for it."""
    if not on_workers(env):
        return dg.in_process_executor
    # {"env": ...}: Dagster reads the variable in the run's process, so the URL never enters a job snapshot.
    backend_env = BACKEND_ENV if settings.get(BACKEND_ENV, env) else BROKER_ENV
    return _watched_celery_executor().configured(
        {"broker": {"env": BROKER_ENV}, "backend": {"env": backend_env}}, name="celery"
    )


def _watched_celery_executor() -> dg.ExecutorDefinition:
    """Dagster's celery executor, its steps watched for a node that dies whole (ls_pipeline/workers/celery_watch.py)
    wherever the run is orchestrated: `ls-run`, or the run worker of a run launched from the UI or the daemon."""
    from dagster._core.execution.retries import RetryMode
    from dagster_celery import celery_executor
    from dagster_celery.executor import CeleryExecutor
    from dagster_celery.make_app import make_app

    from ls_pipeline.workers import celery_watch

    class NodeWatchingCeleryExecutor(CeleryExecutor):
        def execute(self, plan_context: Any, execution_plan: Any) -> Iterator[Any]:
            app = make_app(self.app_args())
            with celery_watch.lost_nodes_fail_their_steps(app, celery_watch.node_timeout_s()):
                yield from super().execute(plan_context, execution_plan)

    def create(init_context: Any) -> NodeWatchingCeleryExecutor:
        config = init_context.executor_config  # as dagster_celery's own creation function reads it
        return NodeWatchingCeleryExecutor(
            broker=config.get("broker"),
            backend=config.get("backend"),
            config_source=config.get("config_source"),
            include=config.get("include"),
            retries=RetryMode.from_config(config["retries"]),
        )

    return dg.ExecutorDefinition(
        name="celery",
        config_schema=celery_executor.config_schema,
        requirements=dg.multiple_process_executor_requirements(),
        executor_creation_fn=create,
        description=celery_executor.description,
    )


def celery_app_args(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The Celery app settings of a worker: the broker and backend the run's executor reads, from the environment."""
    from dagster_celery.executor import CeleryExecutor

    broker = settings.get(BROKER_ENV, env)
    if not broker:
        raise UserError(f"a Celery worker needs {BROKER_ENV}, the broker's URL, e.g. redis://127.0.0.1:6379/0")
    return CeleryExecutor.for_cli(broker=broker, backend=settings.get(BACKEND_ENV, env) or broker).app_args()
