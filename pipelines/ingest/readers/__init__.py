"""Readers: one module per file format, each turning a delivered file into a DuckDB temp table.

A reader returns an ``Extract``: a temp table holding the file's data records in file order
(``_source_row`` 1-based; title, header, blank and remarks rows already left out), the raw text of each
cell, and for every canonical column of the contract the SQL expression of its raw text. Everything after
reading (normalisation, rules, history) is format-independent (``pipelines.ingest.validate``).

A file that cannot be read at all raises ``UnreadableFile`` (it goes to ``rejected/``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.contracts import Contract
from pipelines.ingest.readers.errors import UnreadableFile

__all__ = ["Extract", "UnreadableFile", "GROUP_FORMATS", "read", "read_many"]

# Formats whose files are many and small: read a batch of them in one pass (``read_many``); the group's
# table holds each record's file index in GROUP_FILE_COLUMN.
GROUP_FORMATS = {"hj212"}
GROUP_FILE_COLUMN = "_k"


@dataclass
class Extract:
    """What a reader hands on. ``table`` has ``_source_row``, ``_phys`` (the record's position in the
    file) and the raw columns; ``source_table`` is what to drop afterwards with ``temp_tables``."""

    table: str
    source_table: str
    raw_columns: list[str]                 # physical columns of source_table with the cells as sent
    raw_headers: list[str]                 # the file's header text of each raw column (raw_values keys)
    fields: dict[str, str]                 # canonical column → SQL expression (VARCHAR) over `table`
    headers: dict[str, str] = field(default_factory=dict)   # canonical column → header text in the file
    rows_read: int = 0
    rows_blank: int = 0
    rows_remarks: int = 0                  # trailing remarks/signature rows skipped (not records)
    header_row: int | None = None          # 1-based row of the header in the sheet
    encoding: str | None = None
    crs: str | None = None
    geometry: str | None = None            # SQL expression of the geometry, in the stored CRS
    integrity: str | None = None           # SQL expression: list of whole-record rule codes (HJ 212)
    temp_tables: list[str] = field(default_factory=list)
    where: str | None = None               # this file's records in a table shared by a group of files
    file_index: int | None = None          # … and its index there (the group's file_column value)
    file_column: str | None = None         # a group's column holding each record's file index
    # What the header row told (headers.HeaderMap): headers matched by a rule, filled headers naming no
    # column, and the contract columns no header names (all NULL in this file); reported per file.
    header_variants: dict[str, str] = field(default_factory=dict)
    unmatched_headers: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)


def read(con: duckdb.DuckDBPyConnection, contract: Contract, path: Path, workdir: Path,
         name: str = "_ingest_src") -> Extract:
    """Read one delivered file with the reader of the contract's format into temp tables named
    ``name…`` (one set per file, so that a batch of files can be checked in one statement)."""
    if contract.format == "csv":
        from pipelines.ingest.readers import csv
        return csv.read(con, contract, path, workdir, name)
    if contract.format == "xlsx":
        from pipelines.ingest.readers import xlsx
        return xlsx.read(con, contract, path, workdir, name)
    if contract.format == "geo":
        from pipelines.ingest.readers import geo
        return geo.read(con, contract, path, workdir, name)
    if contract.format == "hj212":
        from pipelines.ingest.readers import hj212
        return hj212.read(con, contract, path, workdir, name)
    raise ValueError(f"{contract.feed}: no reader for format {contract.format!r}")


def read_many(con: duckdb.DuckDBPyConnection, contract: Contract, paths: list[Path], workdir: Path,
              name: str) -> tuple[Extract | None, list[Extract | UnreadableFile]]:
    """Read a group of files of a GROUP_FORMATS feed in one pass: the group extract (records of every
    file, file index in ``file_column``) and, per path, its extract or the reason it cannot be read."""
    if contract.format == "hj212":
        from pipelines.ingest.readers import hj212
        return hj212.read_many(con, contract, paths, workdir, name)
    raise ValueError(f"{contract.feed}: format {contract.format!r} is not read in groups")
