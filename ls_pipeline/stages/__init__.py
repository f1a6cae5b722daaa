"""Pure computation, one module per stage: no Dagster, no HTTP, no paths."""
