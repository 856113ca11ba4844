"""Ingestion: bureau files in landing/ → ``raw.<feed>`` (all versions), ``quarantine.<feed>`` and
``audit.file_registry`` in the warehouse, under the feed contracts of ``sources/``.

Entry points: ``ingest_feed`` (one feed, an open writer connection) and, for Dagster,
``pipelines.ingest.assets.build_ingest_assets``. See docs/ingestion.md.
"""
from pipelines.ingest.loader import FeedResult, FileResult, IngestError, ingest_feed, landing_files

__all__ = ["FeedResult", "FileResult", "IngestError", "ingest_feed", "landing_files"]
