"""Gated publication: the read-only published copy and the Parquet extracts with manifests. See docs/quality.md."""
from pipelines.publish.writer import Publication, publish, verify_extracts

__all__ = ["Publication", "publish", "verify_extracts"]
