"""Dagster definitions: the LatentScope component (whose defs.yaml in latent_scope/ builds this project's stage
assets), automation conditions, checks, sensors, the schedule and resources. Thin shells over steps."""
