"""Run a great-expectations suite over the batches of a warehouse relation that changed since the last run.

A batch is a slice of the relation named by the suite's ``batch_by`` column: a file (``_file_id``) for raw
feeds, a day (``data_date`` / ``sampled_on`` / a mart's date) for time series, the whole relation otherwise.
Each batch has a fingerprint (row count and an XOR of row hashes, computed in DuckDB in one pass); only batches
whose fingerprint differs from the stored state are read into pandas and validated. Changed batches are
validated together in chunks of up to ``CHUNK_ROWS`` rows, because GE's fixed cost per validation (~0.2 s)
would dominate a year of daily batches on a first load; uniqueness expectations are widened with the batch
column so they still hold per batch.

A chunk that fails an ERROR expectation is not recorded, so it is validated again on the next run until the
data is fixed; a chunk with WARN failures is recorded with its findings, which are carried forward (marked
``carried``) while its batches are unchanged. When one of them changes, the whole chunk is validated again.
"""
from __future__ import annotations

import copy
import datetime as dt
import os
import re
import tempfile
import uuid
from functools import lru_cache
from typing import Any

import duckdb

from pipelines.identifiers import CREDIT_CODE_SQL_MACRO
from pipelines.quality.results import SAMPLE_LIMIT, CheckOutcome, Finding, finding_from_record
from pipelines.quality.suites import Suite, expectation_label, type_matches

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

CHUNK_ROWS = 200_000
NULL_BATCH = "∅"
_UNIQUE = ("expect_compound_columns_to_be_unique", "expect_column_values_to_be_unique")


def prepare_connection(con: duckdb.DuckDBPyConnection) -> None:
    """Temporary macros work on read-only connections too."""
    con.execute(CREDIT_CODE_SQL_MACRO)


def ensure_spatial(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("LOAD spatial")
    except duckdb.Error:  # not yet installed from the pinned wheel in this environment
        from pipelines import duck

        duck.install_extensions()
        con.execute("LOAD spatial")


def describe(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str] | None:
    """Column → DuckDB type of ``schema.table`` (None when it does not exist)."""
    schema, name = table.split(".", 1)
    rows = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
        "AND database_name = current_database() ORDER BY column_index", [schema, name]).fetchall()
    return {c: t for c, t in rows} or None


def batch_fingerprints(con: duckdb.DuckDBPyConnection, table: str, batch_by: str | None) -> dict[str, dict]:
    key = f"coalesce(CAST(t.\"{batch_by}\" AS VARCHAR), '{NULL_BATCH}')" if batch_by else "'*'"
    rows = con.execute(
        f"SELECT {key} AS b, count(*) AS n, bit_xor(hash(t)) AS h FROM {table} t GROUP BY 1").fetchall()
    return {b: {"rows": n, "fp": f"{n}:{h}", "hash": h} for b, n, h in rows}


class Fingerprints:
    """The fingerprints of relations read through one connection, each computed once per evaluation.

    One asset's checks read the same relations again and again (raw/plant_online: the suite and three
    day-scoped domain checks over ``plant_online_current``), and hashing every row is most of the cost of a
    run in which nothing changed. A relation's whole fingerprint is derived from its batch fingerprints when
    those are known (rows add up, row hashes XOR), so a scoped check hashes its relation once.
    Valid only while the data cannot change under it: one read-only connection, one evaluation."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._batches: dict[tuple[str, str | None], dict[str, dict]] = {}
        self._whole: dict[str, str | None] = {}

    def batches(self, relation: str, batch_by: str | None) -> dict[str, dict]:
        """As ``batch_fingerprints``; raises ``duckdb.CatalogException`` when the relation is missing."""
        key = (relation, batch_by)
        if key not in self._batches:
            self._batches[key] = batch_fingerprints(self.con, relation, batch_by)
        return self._batches[key]

    def relation(self, relation: str) -> str | None:
        """``rows:xor_of_row_hashes`` of the whole relation; None when it does not exist."""
        if relation not in self._whole:
            known = next((v for (r, _), v in self._batches.items() if r == relation), None)
            if known is not None:
                h = None
                for v in known.values():
                    h = v["hash"] if h is None else h ^ v["hash"]
                self._whole[relation] = f"{sum(v['rows'] for v in known.values())}:{h}"
            else:
                try:
                    n, h = self.con.execute(f"SELECT count(*), bit_xor(hash(t)) FROM {relation} t").fetchone()
                    self._whole[relation] = f"{n}:{h}"
                except duckdb.CatalogException:
                    self._whole[relation] = None
        return self._whole[relation]


def schema_finding(suite: Suite, types: dict[str, str]) -> Finding:
    missing = [c for c in suite.columns if c not in types]
    mistyped = [f"{c}: {types[c]} ≠ {fam}" for c, fam in suite.columns.items()
                if c in types and not type_matches(fam, types[c])]
    extra = [c for c in types if c not in suite.columns] if suite.closed else []
    problems = ([f"缺少列 missing {c}" for c in missing] + [f"类型不符 type {m}" for m in mistyped]
                + [f"多出列 unexpected {c}" for c in extra])
    return Finding(
        label="schema(columns, types)", severity="ERROR",
        description_zh="表结构（列名与类型）须与" + ("数据契约" if suite.closed else "期望套件") + "一致",
        success=not problems, unexpected_count=len(problems) or 0, element_count=len(suite.columns),
        samples=problems[:SAMPLE_LIMIT * 4])


def _select_sql(suite: Suite, types: dict[str, str], con: duckdb.DuckDBPyConnection) -> tuple[str, list[str]]:
    """The batch SELECT: the relation's columns, geometry as its type name, plus the suite's derived columns.
    Derived columns whose inputs are missing are dropped (the schema finding reports the break)."""
    if any(t.upper().startswith("GEOMETRY") for t in types.values()) or "ST_" in " ".join(suite.derived.values()):
        ensure_spatial(con)
    derived = {}
    dropped = []
    for name, expr in suite.derived.items():
        try:
            con.execute(f"SELECT {expr} FROM {suite.table} LIMIT 0")
            derived[name] = expr
        except duckdb.Error:
            dropped.append(name)
    parts = []
    for col, typ in types.items():
        if col in derived:
            parts.append(f'({derived.pop(col)}) AS "{col}"')
        elif typ.upper().startswith("GEOMETRY"):
            # WKB bytes mean nothing to pandas: GE sees the geometry's type name, INVALID when not valid
            parts.append(f"CASE WHEN \"{col}\" IS NULL THEN NULL WHEN ST_IsEmpty(\"{col}\") "
                         f"OR NOT ST_IsValid(\"{col}\") THEN 'INVALID' "
                         f"ELSE upper(ST_GeometryType(\"{col}\")::VARCHAR) END AS \"{col}\"")
        else:
            parts.append(f'"{col}"')
    parts += [f'({expr}) AS "{name}"' for name, expr in derived.items()]
    return ", ".join(parts), dropped


def _adapt(exp: dict[str, Any], suite: Suite, types: dict[str, str]) -> dict[str, Any]:
    import pandas as pd

    exp = copy.deepcopy(exp)  # the suite's own expectations stay as loaded: they make its fingerprint
    meta = exp.get("meta", {})
    meta.setdefault("label", expectation_label(exp))  # findings are named as the suite file names them
    exp = {"type": exp["type"], "kwargs": exp.get("kwargs", {}), "meta": meta,
           # GE's own severity and notes, so its data docs show ours
           "severity": "critical" if meta.get("severity") == "ERROR" else "warning",
           "notes": f"[{meta.get('severity')}] {meta.get('description_zh', '')}"}
    kw = exp["kwargs"]
    col = kw.get("column")
    # GE compares pandas Timestamps with its parsed bounds; JSON holds ISO strings
    if col and re.match(r"(DATE|TIMESTAMP)", types.get(col, "").upper()):
        for bound in ("min_value", "max_value"):
            if isinstance(kw.get(bound), str):
                kw[bound] = pd.Timestamp(kw[bound])
    if exp["type"] in _UNIQUE:
        columns = kw.pop("column_list", None) or [kw.pop("column")]
        columns += [c for c in dict.fromkeys([suite.batch_by, *suite.meta.get("unique_within", [])])
                    if c and c not in columns]
        if len(columns) == 1:  # GE's compound expectation wants two columns or more
            exp["type"] = "expect_column_values_to_be_unique"
            kw["column"] = columns[0]
        else:
            exp["type"] = "expect_compound_columns_to_be_unique"
            kw["column_list"] = columns
    return exp


def ephemeral_context():
    """An ephemeral GE context without the default data docs site, whose temporary folder would be left
    behind in /tmp on every run."""
    import shutil

    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    for name, site in list((context.get_config().data_docs_sites or {}).items()):
        base = (site.get("store_backend") or {}).get("base_directory")
        context.delete_data_docs_site(name)
        if base and base.startswith(tempfile.gettempdir()):
            shutil.rmtree(base, ignore_errors=True)
    return context


class _Gx:
    """One ephemeral GE context per process: creating it costs about a second."""

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.gx = gx
        self.context = ephemeral_context()
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        source = self.context.data_sources.add_pandas("warehouse_batches")
        self.asset = source.add_dataframe_asset("batch")
        self.batch_definition = self.asset.add_batch_definition_whole_dataframe("whole_dataframe")
        self._definitions: dict[str, Any] = {}

    def validation_definition(self, name: str, expectations: list[dict[str, Any]], meta: dict[str, Any]):
        if name not in self._definitions:
            from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

            suite = self.gx.ExpectationSuite(
                name=name, meta=meta,
                expectations=[ExpectationConfiguration(**e).to_domain_obj() for e in expectations])
            suite = self.context.suites.add(suite)
            self._definitions[name] = self.context.validation_definitions.add(
                self.gx.ValidationDefinition(name=name, data=self.batch_definition, suite=suite))
        return self._definitions[name]


@lru_cache(maxsize=1)
def gx_runtime() -> _Gx:
    return _Gx()


def _finding(result: Any) -> Finding:
    cfg = result.expectation_config
    meta = cfg.meta or {}
    res = result.result or {}
    exc = None
    info = result.exception_info or {}
    if info.get("raised_exception"):
        exc = info.get("exception_message")
    else:
        for value in info.values():
            if isinstance(value, dict) and value.get("raised_exception"):
                exc = value.get("exception_message")
                break
    samples: list[Any] = []
    index = res.get("partial_unexpected_index_list") or []
    values = res.get("partial_unexpected_list") or []
    if index:
        samples = [dict(i) for i in index[:SAMPLE_LIMIT]]
    elif values:
        samples = list(values[:SAMPLE_LIMIT])
    elif not result.success and "observed_value" in res:
        samples = [{"observed_value": res["observed_value"]}]
    label = meta.get("label") or expectation_label({"type": cfg.type, "kwargs": cfg.kwargs})
    return Finding(label=label, severity=meta.get("severity", "ERROR"),
                   description_zh=meta.get("description_zh", ""), success=bool(result.success),
                   unexpected_count=res.get("unexpected_count"), element_count=res.get("element_count"),
                   samples=samples, exception=exc)


def _chunks(keys: list[str], fps: dict[str, dict], limit: int) -> list[list[str]]:
    chunks: list[list[str]] = []
    current: list[str] = []
    rows = 0
    for key in sorted(keys):
        n = fps[key]["rows"]
        if current and rows + n > limit:
            chunks.append(current)
            current, rows = [], 0
        current.append(key)
        rows += n
    if current:
        chunks.append(current)
    return chunks


def run_suite(con: duckdb.DuckDBPyConnection, suite: Suite, state: dict[str, Any], *,
              chunk_rows: int = CHUNK_ROWS, fingerprints: Fingerprints | None = None) -> tuple[CheckOutcome, dict[str, Any], list[dict[str, Any]]]:
    """Validate the changed batches of ``suite.table``. Returns the outcome, the new state (to be saved by the
    caller once the read-only connection is closed) and the GE validation results as JSON (for data docs)."""
    outcome = CheckOutcome(check="ge_suite", asset_key=suite.asset_key, title_zh=suite.title_zh, kind="ge",
                           findings=[], feed=suite.meta.get("feed") or suite.meta.get("mart"),
                           bureau=suite.bureau)
    types = describe(con, suite.table)
    if types is None:
        outcome.findings.append(Finding(label="table_exists", severity="ERROR", success=False,
                                        description_zh=f"表 {suite.table} 不存在 (relation missing)"))
        return outcome, state, []
    prepare_connection(con)
    outcome.findings.append(schema_finding(suite, types))

    if state.get("suite") != suite.fingerprint:
        state = {"suite": suite.fingerprint, "batches": {}, "findings": {}}
    fps = (fingerprints or Fingerprints(con)).batches(suite.table, suite.batch_by)
    outcome.batches_total = len(fps)
    old = state.get("batches", {})
    changed = {b for b, v in fps.items() if old.get(b, {}).get("fp") != v["fp"]}
    # a chunk's WARN findings cannot be split by batch, so when one of its batches changes (or goes), all of
    # them are validated again and the old findings dropped: a fixed warning never lingers
    touched = {v.get("chunk") for b, v in old.items() if b in changed or b not in fps} - {None}
    changed |= {b for b, v in old.items() if v.get("chunk") in touched and b in fps}
    changed = sorted(changed)
    batches = {b: v for b, v in old.items() if b in fps and b not in changed}

    select, dropped = _select_sql(suite, types, con)
    expectations = [_adapt(e, suite, types) for e in suite.expectations]
    gx_name = f"{suite.name}:{suite.fingerprint}:{abs(hash(tuple(types.items())))}"
    definition = gx_runtime().validation_definition(gx_name, expectations, {"title_zh": suite.title_zh})
    present = set(types) | set(suite.derived)
    index_cols = [c for c in (suite.meta.get("index_columns") or ["_file_id", "_source_row"]) if c in present]
    if not index_cols:
        index_cols = [c for c in suite.meta.get("primary_key", []) if c in present]
    findings_by_chunk = dict(state.get("findings", {}))
    validations = []
    key_expr = (f"coalesce(CAST(\"{suite.batch_by}\" AS VARCHAR), '{NULL_BATCH}')" if suite.batch_by else None)
    for keys in _chunks(changed, fps, chunk_rows):
        where = f"WHERE {key_expr} IN (SELECT unnest(?::VARCHAR[]))" if key_expr else ""
        params = [keys] if key_expr else []
        frame = con.execute(f"SELECT {select} FROM {suite.table} {where}", params).df()
        result = definition.run(
            batch_parameters={"dataframe": frame},
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_LIMIT,
                           "unexpected_index_column_names": index_cols})
        chunk_findings = [_finding(r) for r in result.results]
        for name in dropped:
            chunk_findings.append(Finding(label=f"derived({name})", severity="ERROR", success=False,
                                          description_zh="派生检查列无法计算（所需列缺失）"))
        outcome.findings.extend(chunk_findings)
        outcome.batches_validated.extend(keys)
        chunk_id = f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        validation = result.to_json_dict()
        validation.setdefault("meta", {}).update({"batches": keys, "table": suite.table, "chunk": chunk_id})
        validations.append({"chunk": chunk_id, "validation": validation})
        if any(not f.success and f.severity == "ERROR" for f in chunk_findings):
            continue
        warns = [f for f in chunk_findings if not f.success]
        for key in keys:
            batches[key] = {"fp": fps[key]["fp"], "chunk": chunk_id if warns else None}
        if warns:
            findings_by_chunk[chunk_id] = [f.__dict__ | {"carried": False} for f in warns]

    live = {v.get("chunk") for v in batches.values()} - {None}
    revalidated = set(outcome.batches_validated)
    for chunk_id in sorted(live):
        if any(v.get("chunk") == chunk_id for k, v in batches.items() if k not in revalidated):
            for raw in findings_by_chunk.get(chunk_id, []):
                finding = finding_from_record(raw)
                finding.carried = True
                outcome.findings.append(finding)
    outcome.findings = _merge(outcome.findings)
    outcome.reused = not changed
    new_state = {"suite": suite.fingerprint, "batches": batches,
                 "findings": {c: f for c, f in findings_by_chunk.items() if c in live}}
    return outcome, new_state, validations


def _merge(findings: list[Finding]) -> list[Finding]:
    """One finding per expectation across chunks: counts add up, samples pool, a failure anywhere fails it;
    it is ``carried`` when all its failures come from earlier runs."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.label, f.severity), []).append(f)
    merged = []
    for parts in groups.values():
        failing = [p for p in parts if not p.success]
        counts = [p.unexpected_count for p in parts if p.unexpected_count is not None]
        elements = [p.element_count for p in parts if p.element_count is not None]
        samples: list[Any] = []
        for p in failing or parts:
            samples += [s for s in p.samples if s not in samples]
        merged.append(Finding(
            label=parts[0].label, severity=parts[0].severity, description_zh=parts[0].description_zh,
            success=not failing, unexpected_count=sum(counts) if counts else None,
            element_count=sum(elements) if elements else None, samples=samples[:SAMPLE_LIMIT],
            exception=next((p.exception for p in parts if p.exception), None),
            carried=bool(failing) and all(p.carried for p in failing)))
    return merged
