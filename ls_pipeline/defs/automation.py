"""Declarative automation of a layout's stages: new rows upstream run the recipes again, stage after stage.

- ingest: a component reading an upstream asset runs when that asset updates; one reading a query or a file polls
  on its cron (and runs once when missing). The project's own code location ingests from the inbox sensor and the
  `_sources.yaml` schedule, so its ingest has no condition.
- embedding: runs when ingest materialized (an ingest that found the rows Dagster has makes no materialization), for the
  recipes this dataset was already mapped with, plus the default recipe (the project's own code location, where
  every dataset x every recipe is a partition) or every recipe the component lists.
- the later stages: eager, each after the stage before it (within one run when requested together).
The recipe source asset is ignored as a trigger: a hand-edited recipe marks its stages stale, it does not rerun them.
"""

from __future__ import annotations

import warnings
from datetime import timedelta

import dagster as dg
from dagster import AutomationContext, AutomationResult

from ls_pipeline.defs.layout import EXCLUSIONS_SOURCE, EXPORT, INGEST, RECIPE_SOURCE, RECIPE_STAGES, Layout
from ls_pipeline.defs.partitions import split_key
from ls_pipeline.recipe import DEFAULT


class RecipeIs(dg.AutomationCondition):
    """True for the dataset x recipe partitions of one recipe (Dagster has no partition-key operand)."""

    def __init__(self, recipe: str) -> None:
        self.recipe = recipe

    @property
    def name(self) -> str:
        return f"recipe_is({self.recipe})"

    def evaluate(self, context: AutomationContext) -> AutomationResult:  # type: ignore[override]
        candidates = context.candidate_subset
        keys = {key for key in candidates.expensively_compute_partition_keys() if split_key(key)[1] == self.recipe}
        return AutomationResult(context=context, true_subset=candidates.compute_intersection_with_partition_keys(keys))


def _not_by_recipe(layout: Layout, condition: dg.AutomationCondition) -> dg.AutomationCondition:
    """`condition` over the stage inputs, not the observed sources: each run logs an observation of its recipe and
    exclusions, and a changed exclusion list shows the maps stale for a person to refit, never refits by itself."""
    sources = dg.AssetSelection.assets(layout.key(RECIPE_SOURCE), layout.key(EXCLUSIONS_SOURCE))
    return condition.ignore(sources)  # type: ignore[attr-defined]


def _quiet(layout: Layout) -> dg.AutomationCondition:
    """Nothing upstream missing or running, and not running itself."""
    return (
        ~_not_by_recipe(layout, dg.AutomationCondition.any_deps_missing())
        & ~_not_by_recipe(layout, dg.AutomationCondition.any_deps_in_progress())
        & ~dg.AutomationCondition.in_progress()
    )


def new_rows(layout: Layout, every_recipe: bool) -> dg.AutomationCondition:
    """embedding's condition: ingest materialized new rows (an ingest that found the same rows materializes
    nothing), for the recipes wanted."""
    changed = dg.AutomationCondition.any_deps_match(dg.AutomationCondition.newly_updated()).allow(
        dg.AssetSelection.assets(layout.key(INGEST))
    )
    if every_recipe:
        wanted: dg.AutomationCondition = dg.AutomationCondition.newly_missing() | changed
    else:
        wanted = changed & (~dg.AutomationCondition.missing() | RecipeIs(DEFAULT))
    return (wanted.since_last_handled() & _quiet(layout)).with_label("new_rows")


def after_upstream(layout: Layout) -> dg.AutomationCondition:
    """A later stage's condition: eager on the stage before it (the recipe source ignored)."""
    updated = _not_by_recipe(layout, dg.AutomationCondition.any_deps_updated())
    return (updated.since_last_handled() & _quiet(layout)).with_label("after_upstream")


def stage_conditions(layout: Layout, every_recipe: bool) -> dict[str, dg.AutomationCondition]:
    later = [*RECIPE_STAGES[1:], EXPORT]
    return {RECIPE_STAGES[0]: new_rows(layout, every_recipe), **{name: after_upstream(layout) for name in later}}


def ingest_condition(from_asset: bool, cron: str) -> dg.AutomationCondition | None:
    if from_asset:
        return dg.AutomationCondition.eager()
    if cron:
        return (dg.AutomationCondition.on_cron(cron) | dg.AutomationCondition.on_missing()).with_label("poll")
    return dg.AutomationCondition.on_missing()


def freshness(cron: str, hours: float) -> dg.FreshnessPolicy | None:
    """How stale a polled source may become: past `hours` since its last ingest, Dagster marks it failing."""
    if not cron or hours <= 0:
        return None
    return dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=hours))


def automation_sensor(
    layout: Layout, custom: bool, run_tags: dict[str, str] | None = None
) -> dg.AutomationConditionSensorDefinition:
    """The sensor that evaluates `layout`'s conditions; a custom condition is evaluated in the code server."""
    with warnings.catch_warnings():  # use_user_code_server is beta: no warning for every user at every load
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.AutomationConditionSensorDefinition(
            layout.name("automation_sensor"),
            target=dg.AssetSelection.assets(*[layout.key(name) for name in (INGEST, *RECIPE_STAGES, EXPORT)]),
            default_status=dg.DefaultSensorStatus.RUNNING,
            minimum_interval_seconds=15,
            use_user_code_server=custom,
            run_tags=run_tags,
        )
