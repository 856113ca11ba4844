"""Running the platform every day on Dagster's own machinery: the persistent instance in the data home, the plan
of a run (what changed since the last one), the daily schedule, run-failure alerts. See docs/operations.md."""
