"""The team's own asset: the support tickets table of its PostgreSQL database, polled every minute.

Its database URL (with its password) is read from TICKETS_DB_URL where the step runs; nothing else names it.
"""

import os

import dagster as dg
import pandas as pd
import sqlalchemy

POLL = os.environ.get("TICKETS_POLL_CRON", "* * * * *")


# on_missing fires only for an asset that goes missing after the sensor's first look; a project started from scratch
# would wait for the next cron tick for its first map, so the first look also requests a missing table.
FIRST_LOOK = dg.AutomationCondition.initial_evaluation() & dg.AutomationCondition.missing()


@dg.asset(
    group_name="support",
    kinds={"postgres"},
    automation_condition=dg.AutomationCondition.on_cron(POLL) | dg.AutomationCondition.on_missing() | FIRST_LOOK,
)
def tickets(context: dg.AssetExecutionContext) -> pd.DataFrame:
    """Every ticket: id, subject, body, updated_at."""
    engine = sqlalchemy.create_engine(dg.EnvVar("TICKETS_DB_URL").get_value())
    try:
        with engine.connect() as con:
            frame = pd.read_sql(sqlalchemy.text("SELECT id, subject, body, updated_at FROM tickets ORDER BY id"), con)
    finally:
        engine.dispose()
    context.add_output_metadata({"rows": len(frame)})
    return frame


# Evaluates the asset's own condition (the component's assets have a sensor of their own).
tickets_automation = dg.AutomationConditionSensorDefinition(
    "tickets_automation", target=[tickets], default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=15
)
