"""Data quality on Dagster's own machinery: the marts' great-expectations suites as blocking asset checks
(``checks``), and the check results Dagster recorded, read back from the instance (``status``). Row rules live in
the contracts and the loader, relational rules in dbt tests: docs/quality.md lists every rule's home."""
from pipelines.quality.checks import build_mart_checks
from pipelines.quality.status import CheckStatus, QualityGateError, check_statuses, upstream_statuses

__all__ = ["build_mart_checks", "CheckStatus", "QualityGateError", "check_statuses", "upstream_statuses"]
