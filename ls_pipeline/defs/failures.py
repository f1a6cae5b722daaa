"""The one line a user reads for a failed Dagster step, the same in `ls-run`'s error and the sensors' failure notes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # dagster exports no public name for it
    from dagster._core.execution.plan.objects import StepFailureData


def step_failure_line(step_key: str, failure: StepFailureData) -> str:
    """A Dagster step's Failure description (our UserError's one line), else its root error's class and first line."""
    if failure.user_failure_data is not None and failure.user_failure_data.description:
        return failure.user_failure_data.description.strip()
    error = failure.error
    while error is not None and error.cause is not None:
        error = error.cause
    if error is None:
        return f"Dagster step {step_key} failed"
    return f"Dagster step {step_key} failed: {error.cls_name}: {error.message.strip().splitlines()[0]}"
