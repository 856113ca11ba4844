"""Publish the marts: ``published/sewershare.duckdb`` (read-only copy with Chinese column comments) and Parquet
extracts with manifests under ``extracts/<recipient>/``. Readers never see a partial version and never meet a lock.

1. Through a read-only warehouse connection (``WarehouseResource.reader()``), every relation of schema ``marts``
   is copied, masked for the recipient, to Parquet (zstd; a GEOMETRY column becomes GeoParquet with its CRS) in a
   new version directory ``extracts/.versions/<recipient>-<stamp>/``.
2. The copy is checked, on the same read-only connection: no personal value of the raw feeds appears in any
   extract (leak scan, in DuckDB).
3. The published database is built from those Parquet files into ``published/.sewershare.<stamp>.duckdb`` (so the
   copy and the extracts are the same data), with ``COMMENT ON`` every table and column, and a
   ``meta.publication`` table and ``meta.quality_status`` (the latest result of each check on the published marts,
   as Dagster recorded it: what the sharing portal and the report show beside each dataset) (the warehouse
   connection is closed by then); the connection is closed (checkpointed: no WAL beside it).
4. Swap: ``os.replace`` puts the new database file in place (analysts holding the old file keep reading it; new
   connections get the new one), and ``extracts/<recipient>`` — a symbolic link to the current version
   directory — is replaced by a new link the same way. Older versions beyond ``keep`` are removed.

Only changed datasets are rewritten. Each dataset's manifest carries a ``fingerprint``: a hash of its content (the
rows as the recipient receives them, order-free, computed in DuckDB), its columns, types and descriptions. A
dataset whose fingerprint equals that of the current version is not written again: its Parquet file is hard-linked
into the new version and its manifest kept as it was, so its checksum, ``generated_at`` and ``run_id`` still say
when it last changed.

Any failure before the swap leaves ``published/`` and ``extracts/`` exactly as they were.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pipelines import duck
from pipelines.contracts import load_contracts
from pipelines.hashing import sha256_file
from pipelines.home import DataHome
from pipelines.operations.recovery import in_use
from pipelines.publish.docs import MartDoc, mart_docs
from pipelines.publish.policy import ALL, PERSONAL_VALUES_SQL, Recipient, select_list

Reader = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]
STORE_CRS = load_contracts()["census_pipes"].store_crs or "EPSG:4549"
VERSIONS = ".versions"


class PersonalDataLeak(RuntimeError):
    pass


@dataclass
class Publication:
    run_id: str
    generated_at: str
    published: Path
    extracts: Path
    manifests: list[dict[str, Any]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)     # datasets kept from the previous version

    @property
    def changed(self) -> list[str]:
        return [m["dataset"] for m in self.manifests if m["dataset"] not in self.unchanged]

    @property
    def marts(self) -> list[str]:
        return [m["dataset"] for m in self.manifests]


def _comment(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _catalogue(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, dict[str, str]], dict[str, MartDoc]]:
    rows = con.execute(
        "SELECT table_name, column_name, data_type, comment FROM duckdb_columns() "
        "WHERE schema_name = 'marts' AND database_name = current_database() ORDER BY table_name, column_index"
    ).fetchall()
    tables = dict(con.execute(
        "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'marts' "
        "AND database_name = current_database() UNION ALL SELECT view_name, comment FROM duckdb_views() "
        "WHERE schema_name = 'marts' AND database_name = current_database()").fetchall())
    types: dict[str, dict[str, str]] = {}
    docs: dict[str, MartDoc] = {}
    for table, col, typ, comment in rows:
        types.setdefault(table, {})[col] = typ
        docs.setdefault(table, MartDoc(description=tables.get(table) or "")).columns[col] = comment or ""
    return types, docs


def _fingerprint(con: duckdb.DuckDBPyConnection, mart: str, select: str, types: dict[str, str],
                 doc: MartDoc) -> str:
    """A hash of what a recipient receives of ``mart``: the rows (an order-free sum of row hashes, in DuckDB),
    the select list (masking), the columns, types and descriptions."""
    rows, content = con.execute(f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0) "
                                f"FROM (SELECT {select} FROM marts.\"{mart}\") t").fetchone()
    described = json.dumps({"select": select, "types": types, "description": doc.description,
                            "columns": doc.columns}, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(f"{rows}|{content}|{described}".encode()).hexdigest()


def _current_manifests(link: Path) -> dict[str, dict[str, Any]]:
    """The manifests of the version ``link`` points at (none when nothing was published yet)."""
    if not link.is_symlink():
        return {}
    found = {}
    for path in link.resolve().glob("*.manifest.json"):
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if (link.resolve() / manifest["file"]).exists():
            found[manifest["dataset"]] = manifest
    return found


def _write_extracts(con: duckdb.DuckDBPyConnection, version_dir: Path, recipient: Recipient,
                    marts: list[str] | None, previous: dict[str, dict[str, Any]], previous_dir: Path | None
                    ) -> tuple[dict[str, dict[str, str]], dict[str, MartDoc], dict[str, list[str]], dict[str, str],
                               set[str]]:
    types, catalogue = _catalogue(con)
    if any(t.upper().startswith("GEOMETRY") for cols in types.values() for t in cols.values()):
        duck.load(con, "spatial")  # the CRS of GEOMETRY('EPSG:4549') is known to the spatial extension
    docs = mart_docs(catalogue)
    chosen = sorted(types) if marts is None else [m for m in marts if m in types]
    masked: dict[str, list[str]] = {}
    fingerprints: dict[str, str] = {}
    reused: set[str] = set()
    for mart in chosen:
        columns = list(types[mart])
        select, masked[mart] = select_list(mart, columns, types[mart], recipient,
                                           docs.get(mart, MartDoc()).meta, geometry_crs=STORE_CRS)
        fingerprints[mart] = _fingerprint(con, mart, select, types[mart], docs.get(mart, MartDoc()))
        target = version_dir / f"{mart}.parquet"
        before = previous.get(mart)
        if before is not None and previous_dir is not None and before.get("fingerprint") == fingerprints[mart]:
            try:
                os.link(previous_dir / before["file"], target)
            except OSError:       # another file system: a copy keeps the same bytes
                shutil.copy2(previous_dir / before["file"], target)
            reused.add(mart)
            continue
        # A total order (every non-geometry column): the same marts give byte-identical Parquet (issue 14);
        # without it the row order follows DuckDB's threads.
        order = ", ".join(f'"{c}"' for c, t in types[mart].items() if not t.upper().startswith("GEOMETRY"))
        con.execute(f"COPY (SELECT {select} FROM marts.\"{mart}\" {'ORDER BY ' + order if order else ''}) "
                    f"TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
    return {m: types[m] for m in chosen}, docs, masked, fingerprints, reused


def _leak_scan(con: duckdb.DuckDBPyConnection, files: dict[str, Path]) -> list[str]:
    """Every text column of the extracts against the raw feeds' personal values, on the warehouse connection:
    the values go from the warehouse into a temporary table (allowed on a read-only connection) and never
    through Python."""
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE personal_values AS SELECT v FROM ({PERSONAL_VALUES_SQL})")
    except duckdb.CatalogException:  # a warehouse without the raw feeds (a marts-only test) has none
        return []
    leaks = []
    try:
        for mart, path in files.items():
            cols = [c for c, t in con.execute(
                f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '{path}')").fetchall()
                if t == "VARCHAR"]
            if not cols:
                continue
            counts = con.execute("SELECT " + ", ".join(
                f"count(*) FILTER (WHERE \"{c}\" IN (SELECT v FROM personal_values))" for c in cols)
                + f" FROM '{path}'").fetchone()
            leaks += [f"{mart}.{c}: {n} 行含个人信息 rows carry personal values" for c, n in zip(cols, counts) if n]
    finally:
        con.execute("DROP TABLE IF EXISTS temp.personal_values")
    return leaks


QUALITY_STATUS_DDL = """CREATE TABLE IF NOT EXISTS meta.quality_status (asset VARCHAR, check_name VARCHAR, severity VARCHAR,
    passed BOOLEAN, description VARCHAR, evaluated_at TIMESTAMPTZ, run_id VARCHAR)"""


def _same_verdicts(published: Path, quality_status: list[tuple]) -> bool:
    """Whether the published copy's ``meta.quality_status`` gives the same verdicts (asset, check, severity, passed,
    description) as ``quality_status``: when it does, re-evaluated checks alone are no reason for a new copy."""
    try:
        con = duck.connect(published, read_only=True, extensions=())
        try:
            current = con.execute("SELECT asset, check_name, severity, passed, description "
                                  "FROM meta.quality_status").fetchall()
        finally:
            con.close()
    except duckdb.Error:  # a copy from before the table existed
        return False
    return sorted(current, key=str) == sorted((tuple(r[:5]) for r in quality_status), key=str)


def _build_published(path: Path, files: dict[str, Path], docs: dict[str, MartDoc], manifests: list[dict],
                     run_id: str, generated_at: str, quality_status: list[tuple], base: Path | None = None,
                     unchanged: set[str] = frozenset()) -> None:
    """Build the published database at ``path``. With ``base`` (the current published file), start from a copy
    of it and replace only the tables of the datasets not in ``unchanged`` (and drop those no longer published)."""
    incremental = base is not None and base.exists() and unchanged
    if incremental:
        shutil.copyfile(base, path)
    con = duck.connect(path)
    try:
        con.execute("BEGIN TRANSACTION")  # one commit: hundreds of COMMENT statements each committing is slow
        if incremental:
            present = {r[0] for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' "
                "AND database_name = current_database()").fetchall()}
            for mart in present - (set(files) & set(unchanged)):
                con.execute(f"DROP TABLE marts.\"{mart}\"")
            con.execute("DELETE FROM meta.publication")
        else:
            con.execute("CREATE SCHEMA marts; CREATE SCHEMA meta")
        for mart, file in files.items():
            if incremental and mart in unchanged:
                continue
            con.execute(f"CREATE TABLE marts.\"{mart}\" AS SELECT * FROM '{file}'")
            built = {r[0] for r in con.execute(f"SELECT column_name FROM (DESCRIBE marts.\"{mart}\")").fetchall()}
            doc = docs.get(mart, MartDoc())
            if doc.description:
                con.execute(f"COMMENT ON TABLE marts.\"{mart}\" IS {_comment(doc.description)}")
            for col, desc in doc.columns.items():
                if desc:
                    if col in built:  # the dictionary may document a column not built (yet)
                        con.execute(f"COMMENT ON COLUMN marts.\"{mart}\".\"{col}\" IS {_comment(desc)}")
        if not incremental:
            con.execute("""CREATE TABLE meta.publication (dataset VARCHAR, row_count BIGINT, sha256 VARCHAR,
                           run_id VARCHAR, generated_at TIMESTAMPTZ, masked_columns VARCHAR[])""")
            con.execute("COMMENT ON TABLE meta.publication IS '发布记录：每个数据集的行数、校验和与发布批次"
                        "（未变的数据集保留其最后一次变化时的批次）。Publication record: rows, checksum and the run "
                        "that last changed each dataset.'")
        # each dataset's run and time are those of the version that last changed it
        con.executemany("INSERT INTO meta.publication VALUES (?, ?, ?, ?, ?, ?)",
                        [[m["dataset"], m["row_count"], m["sha256"], m.get("run_id", run_id),
                          m.get("generated_at", generated_at), m["masked_columns"]] for m in manifests])
        con.execute(QUALITY_STATUS_DDL)   # a copy published before the table existed gets it now
        con.execute("DELETE FROM meta.quality_status")
        if quality_status:
            con.executemany("INSERT INTO meta.quality_status VALUES (?, ?, ?, ?, ?, ?, ?)", quality_status)
        con.execute("COMMENT ON TABLE meta.quality_status IS '质量检查结果：发布时各数据集每项检查的最近一次结果"
                    "（passed 为空表示从未执行；severity 为 ERROR 的阻断发布，WARN 仅提示）。"
                    "Latest result of each check on the published datasets at publication.'")
        sample = bool(manifests and manifests[0].get("sample_data"))
        con.execute("CREATE OR REPLACE TABLE meta.data_nature AS SELECT ? AS sample_data, ? AS notice",
                    [sample, SAMPLE_NOTICE if sample else REAL_NOTICE])
        con.execute("COMMENT ON TABLE meta.data_nature IS '数据性质：是否为合成样例数据。Whether the data are a synthetic "
                    "sample.'")
        if sample:
            for mart in files:
                con.execute(f"COMMENT ON TABLE marts.\"{mart}\" IS "
                            f"{_comment('【' + SAMPLE_NOTICE + '】' + (docs.get(mart, MartDoc()).description or ''))}")
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
    finally:
        con.close()


SAMPLE_NOTICE = "合成样例数据，非真实数据，不得用于业务 / synthetic sample data, not real; not for operational use"
REAL_NOTICE = "报送数据 / delivered data"


def is_sample_home(home: DataHome) -> bool:
    """The home's data were written by ``sewershare sample`` (it leaves sample_truth.json beside them)."""
    return home.sample_truth.exists()


def _manifest(mart: str, file: Path, types: dict[str, str], doc: MartDoc, masked: list[str], rows: int,
              recipient: Recipient, run_id: str, generated_at: str, fingerprint: str,
              sample: bool = False) -> dict[str, Any]:
    geometry = {c: STORE_CRS for c, t in types.items() if t.upper().startswith("GEOMETRY")}
    return {
        "dataset": mart,
        # what analysts see first: synthetic sample data say so (issue 14)
        "sample_data": sample,
        "数据性质": SAMPLE_NOTICE if sample else REAL_NOTICE,
        "file": file.name,
        "format": "parquet",
        "compression": "zstd",
        "description": doc.description,
        "schema": [{"name": c, "type": t, "description": doc.columns.get(c, ""), "masked": c in masked}
                   for c, t in types.items()],
        "geometry_columns": geometry,
        "row_count": rows,
        "bytes": file.stat().st_size,
        "sha256": sha256_file(file)[0],
        "generated_at": generated_at,
        "run_id": run_id,
        "recipient": recipient.name,
        "masked_columns": masked,
        "source": f"warehouse marts.{mart}",
        "fingerprint": fingerprint,
    }


def _swap_link(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` atomically (a new link renamed over the old one)."""
    tmp = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}")
    os.symlink(os.path.relpath(target, link.parent), tmp)
    if link.exists() and not link.is_symlink():  # a plain directory from before versioning
        link.rename(link.with_name(f"{link.name}.pre-versioning"))
    os.replace(tmp, link)


def _prune(versions: Path, prefix: str, keep_names: set[str], keep: int) -> None:
    candidates = sorted((p for p in versions.glob(f"{prefix}-*") if p.is_dir()), key=lambda p: p.name)
    for old in candidates[:-keep]:
        if old.name not in keep_names:
            shutil.rmtree(old, ignore_errors=True)


def publish(home: DataHome, reader: Reader, *, run_id: str | None = None, recipient: Recipient = ALL,
            marts: list[str] | None = None, keep: int = 3,
            quality_status: list[tuple] | None = None) -> Publication:
    """Write a new version of the published copy and of ``extracts/<recipient>`` and swap both in.
    ``quality_status``: rows of ``meta.quality_status`` (``pipelines.quality.status.STATUS_COLUMNS``)."""
    home.ensure()
    with in_use(home):      # a rerun's crash recovery leaves this publication's temporary files alone
        return _publish(home, reader, run_id=run_id, recipient=recipient, marts=marts, keep=keep,
                        quality_status=quality_status)


def _publish(home: DataHome, reader: Reader, *, run_id: str | None, recipient: Recipient,
             marts: list[str] | None, keep: int, quality_status: list[tuple] | None) -> Publication:
    run_id = run_id or uuid.uuid4().hex
    now = dt.datetime.now(dt.timezone.utc)
    generated_at = now.isoformat(timespec="seconds")
    stamp = f"{now:%Y%m%dT%H%M%S%f}-{run_id[:8]}"
    versions = home.extracts / VERSIONS
    version_dir = versions / f"{recipient.name}-{stamp}"
    version_dir.mkdir(parents=True)
    tmp_db = home.published_dir / f".{home.published.stem}.{stamp}.duckdb"
    link = home.extracts / recipient.name
    previous = _current_manifests(link)
    previous_dir = link.resolve() if previous else None
    try:
        with reader() as con:
            types, docs, masked, fingerprints, reused = _write_extracts(con, version_dir, recipient, marts,
                                                                        previous, previous_dir)
            files = {m: version_dir / f"{m}.parquet" for m in types}
            leaks = _leak_scan(con, files)
            # Parquet footers hold the row counts: no scan of the data
            rows = {m: con.execute(f"SELECT coalesce(sum(num_rows), 0)::BIGINT "
                                  f"FROM parquet_file_metadata('{f}')").fetchone()[0]
                    for m, f in files.items()}
        if leaks:
            raise PersonalDataLeak("个人信息泄露，未发布 personal data would leak, nothing published:\n- "
                                   + "\n- ".join(leaks))
        manifests = []
        for mart, file in files.items():
            if mart in reused:       # unchanged: the manifest of the version that wrote it, as it was
                manifests.append(previous[mart])
                (version_dir / f"{mart}.manifest.json").write_text(
                    json.dumps(previous[mart], ensure_ascii=False, indent=1), encoding="utf-8")
                continue
            manifest = _manifest(mart, file, types[mart], docs.get(mart, MartDoc()), masked[mart], rows[mart],
                                 recipient, run_id, generated_at, fingerprints[mart], sample=is_sample_home(home))
            (version_dir / f"{mart}.manifest.json").write_text(
                json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
            manifests.append(manifest)
        (version_dir / "_index.json").write_text(json.dumps(
            {"recipient": recipient.name, "run_id": run_id, "generated_at": generated_at,
             "sample_data": is_sample_home(home),
             "datasets": {m["dataset"]: f"{m['dataset']}.manifest.json" for m in manifests}},
            ensure_ascii=False, indent=1), encoding="utf-8")
        if reused == set(files) and set(files) == set(previous) and \
                (recipient.name != ALL.name or (home.published.exists()
                                                and _same_verdicts(home.published, quality_status or []))):
            # nothing changed, the checks' verdicts neither: the current version stays, nothing is swapped
            shutil.rmtree(version_dir, ignore_errors=True)
            return Publication(run_id=run_id, generated_at=generated_at, published=home.published, extracts=link,
                               manifests=manifests, unchanged=sorted(reused))
        if recipient.name == ALL.name:
            _build_published(tmp_db, files, docs, manifests, run_id, generated_at, quality_status or [],
                             base=home.published if previous else None, unchanged=reused)
    except BaseException:
        shutil.rmtree(version_dir, ignore_errors=True)
        for leftover in (tmp_db, tmp_db.with_name(tmp_db.name + ".wal")):
            leftover.unlink(missing_ok=True)
        raise
    if recipient.name == ALL.name:
        os.replace(tmp_db, home.published)
    _swap_link(link, version_dir)
    _prune(versions, recipient.name, {version_dir.name}, keep)
    return Publication(run_id=run_id, generated_at=generated_at, published=home.published, extracts=link,
                       manifests=manifests, unchanged=sorted(reused))


def verify_extracts(directory: Path) -> list[str]:
    """Problems with an extracts directory (empty list when every manifest's size and hash match)."""
    problems = []
    for manifest_path in sorted(directory.glob("*.manifest.json")):
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        file = directory / manifest["file"]
        if not file.exists():
            problems.append(f"{manifest['dataset']}: {file.name} missing")
            continue
        if file.stat().st_size != manifest["bytes"]:
            problems.append(f"{manifest['dataset']}: size {file.stat().st_size} ≠ {manifest['bytes']}")
        if sha256_file(file)[0] != manifest["sha256"]:
            problems.append(f"{manifest['dataset']}: sha256 mismatch")
    return problems
