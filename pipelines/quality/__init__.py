"""Data quality: great-expectations suites (``expectations/``) and domain checks as Dagster asset checks, the
publication gate, and the quality reports. See docs/quality.md."""
from pipelines.quality.checks import blocking_check_ids, build_quality_checks
from pipelines.quality.gate import QualityGateError, assert_gate, gate_failures, gate_message
from pipelines.quality.reports import write_reports

__all__ = ["build_quality_checks", "blocking_check_ids", "QualityGateError", "assert_gate", "gate_failures",
           "gate_message", "write_reports"]
