"""Dagster definitions: partitions, assets, checks, sensors, schedules and resources. Thin shells over steps."""
