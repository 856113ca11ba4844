"""``sample_truth.json``: what the generator wrote and which rows it spoiled (docs/architecture.md).

Rows are 1-based ordinals of data records (the loader's ``source_row``). For row rules the
``field`` is the rule's last field (``grade_for_code`` → ``defect_grade``, ``date_order`` → the
end date); whole-record rules (``duplicate_row``, ``hj212_*``) have ``field: null``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GENERATOR_VERSION = "1"


@dataclass
class FileTruth:
    path: str                       # relative to the data home, POSIX separators
    feed: str
    format: str                     # the contract's reader: csv, xlsx, geo, hj212
    encoding: str | None
    crs: str | None
    data_rows: int = 0
    blank_rows: int = 0
    invalid_rows: list[dict[str, Any]] = field(default_factory=list)
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    supersedes: list[list[Any]] = field(default_factory=list)
    container: str | None = None    # geojson / shapefile_zip / csv / xlsx / log
    header_row: int | None = None   # 1-based line/sheet row of the header (csv, xlsx)
    # issue 8: what the loader keeps but must report, and the spellings it must read by rule
    kept_rows: list[dict[str, Any]] = field(default_factory=list)        # descriptive spoils: row kept
    label_variants: list[dict[str, Any]] = field(default_factory=list)   # variant spelling → its code
    header_variants: list[dict[str, Any]] = field(default_factory=list)  # header not in the synonyms → column
    unmatched_headers: list[str] = field(default_factory=list)           # headers naming no column
    missing_columns: list[str] = field(default_factory=list)             # contract columns the file lacks

    def as_json(self) -> dict[str, Any]:
        out = {
            "path": self.path, "feed": self.feed, "format": self.format, "encoding": self.encoding,
            "crs": self.crs, "data_rows": self.data_rows, "blank_rows": self.blank_rows,
            "invalid_rows": sorted(self.invalid_rows, key=lambda r: r["row"]),
            "anomalies": sorted(self.anomalies, key=lambda r: (r["row"], r["kind"], r["field"] or "")),
            "supersedes": self.supersedes,
            "container": self.container,
        }
        if self.header_row is not None:
            out["header_row"] = self.header_row
        out["kept_rows"] = sorted(self.kept_rows, key=lambda r: (r["row"], r["field"]))
        out["label_variants"] = sorted(self.label_variants, key=lambda r: (r["row"], r["field"]))
        out["header_variants"] = sorted(self.header_variants, key=lambda r: r["field"])
        out["unmatched_headers"] = sorted(self.unmatched_headers)
        out["missing_columns"] = sorted(self.missing_columns)
        return out


@dataclass
class Truth:
    scale: float
    seed: int
    files: list[FileTruth] = field(default_factory=list)
    corrections: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    def add(self, file_truth: FileTruth) -> FileTruth:
        self.files.append(file_truth)
        return file_truth

    def as_json(self) -> dict[str, Any]:
        return {
            "generator": {"version": GENERATOR_VERSION, "scale": self.scale, "seed": self.seed},
            "files": [f.as_json() for f in sorted(self.files, key=lambda f: f.path)],
            "corrections": sorted(self.corrections, key=lambda c: c["file"]),
            "stats": self.stats,
        }

    def write(self, path: Path) -> dict[str, Any]:
        data = self.as_json()
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return data
