"""Domain checks beyond a suite's column rules: whole-relation invariants and rules across feeds, in SQL.

Each check is a query returning the failing rows (one row per failure, a few identifying columns), so the check
reports the count and samples alike. A check whose query has a ``{scope}`` placeholder is incremental: it names
a day column of a time-series feed, only days whose fingerprint changed since the check's last evaluation are
queried, and failures are kept per day in the check's state (so a failing day keeps being reported until its
data changes). Other checks run on their relations whole — they are single aggregate queries — and are skipped,
with the stored result reused, when none of the relations they read changed.

Severity follows one rule. At raw level a row is true to its bureau's file: references to rows of another feed,
plausibility across rows and completeness are WARN (the sample carries such anomalies on purpose, and the gap may
be in the other feed). Broken invariants of the warehouse itself (two current versions of a key) and broken
consistency between marts are ERROR: those are our bugs, and the marts must not be shared with them.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from pipelines.contracts import load_contracts
from pipelines.quality.results import SAMPLE_LIMIT, CheckOutcome, Finding
from pipelines.quality.runner import Fingerprints
from pipelines.transform.project import dbt_var

# Tolerances, each with its reason.
# One threshold for the checks and the models: tracing reverses exactly the segments this check flags.
UPHILL_TOLERANCE_M = dbt_var("invert_tolerance_m")   # beyond it a segment rises along its drawn direction
MIN_VALID_HOURS = dbt_var("min_valid_hours")         # daily mean usable with enough valid hours (HJ 356-2019)
PERMIT_MAX_YEARS = 5            # drainage permits (住建部令第21号 第十八条) and discharge permits (排污许可管理条例 第十四条)


@dataclass(frozen=True)
class DomainCheck:
    name: str
    target: str                 # "raw.<feed>" or "marts.<mart>": the asset the check is attached to
    severity: str
    description_zh: str
    reads: tuple[str, ...]      # relations read: fingerprints decide whether to re-run; deps for Dagster
    sql: str | None = None      # failing rows; may use {scope} (see module docstring)
    scope: tuple[str, str] | None = None   # (relation, day column) when incremental
    python: Callable[[duckdb.DuckDBPyConnection], tuple[int, list[dict[str, Any]]]] | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.name


def _current(feed: str) -> str:
    return f"raw.{feed}_current"


def _pk_unique(feed: str, pk: tuple[str, ...], scope_col: str | None) -> DomainCheck:
    keys = ", ".join(pk)
    where = "WHERE {scope}" if scope_col else ""
    return DomainCheck(
        name="current_key_unique", target=f"raw.{feed}", severity="ERROR",
        description_zh="当前视图中每个主键只能有一个当前版本（否则下游会重复计数）",
        reads=(_current(feed),), scope=(_current(feed), scope_col) if scope_col else None,
        sql=(f"SELECT {keys}, count(*) AS versions{', ' + scope_col + ' AS batch' if scope_col else ''} "
             f"FROM {_current(feed)} {where} GROUP BY ALL HAVING count(*) > 1"))


def _network_cycles(con: duckdb.DuckDBPyConnection) -> tuple[int, list[dict[str, Any]]]:
    """Segments that lie on a directed cycle (as drawn). Strongly connected components in scipy, vectorised."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    edges = con.execute(
        "SELECT segment_id, start_manhole_id, end_manhole_id FROM raw.census_pipes_current "
        "WHERE start_manhole_id IS NOT NULL AND end_manhole_id IS NOT NULL").fetchnumpy()
    if len(edges["segment_id"]) == 0:
        return 0, []
    nodes, idx = np.unique(np.concatenate([edges["start_manhole_id"], edges["end_manhole_id"]]),
                           return_inverse=True)
    n = len(edges["segment_id"])
    src, dst = idx[:n], idx[n:]
    graph = coo_matrix((np.ones(n), (src, dst)), shape=(len(nodes), len(nodes))).tocsr()
    _, labels = connected_components(graph, directed=True, connection="strong")
    sizes = np.bincount(labels)
    on_cycle = (labels[src] == labels[dst]) & ((sizes[labels[src]] > 1) | (src == dst))
    failing = np.flatnonzero(on_cycle)
    samples = [{"segment_id": str(edges["segment_id"][i]), "start_manhole_id": str(edges["start_manhole_id"][i]),
                "end_manhole_id": str(edges["end_manhole_id"][i])} for i in failing[:SAMPLE_LIMIT]]
    return int(failing.size), samples


def raw_checks() -> list[DomainCheck]:
    contracts = load_contracts()
    checks = [_pk_unique(feed, c.primary_key, c.partition_by) for feed, c in contracts.items()]
    pipes, manholes = _current("census_pipes"), _current("census_manholes")
    checks += [
        DomainCheck(
            name="network_dangling_manholes", target="raw.census_pipes", severity="WARN",
            description_zh="管段的起点井或终点井不在检查井普查中（管网断点）",
            reads=(pipes, manholes),
            sql=f"""SELECT p.segment_id, e.end_kind, e.manhole_id
                    FROM {pipes} p, LATERAL (VALUES ('start', p.start_manhole_id), ('end', p.end_manhole_id))
                         e(end_kind, manhole_id)
                    WHERE e.manhole_id IS NOT NULL
                      AND e.manhole_id NOT IN (SELECT manhole_id FROM {manholes} WHERE manhole_id IS NOT NULL)"""),
        DomainCheck(
            name="network_uphill_segments", target="raw.census_pipes", severity="WARN",
            description_zh=f"管段终点管底高于起点超过 {UPHILL_TOLERANCE_M} m（逆坡或按逆流方向绘制）",
            reads=(pipes,), params={"tolerance_m": UPHILL_TOLERANCE_M},
            sql=f"""SELECT segment_id, start_invert_m, end_invert_m,
                           round(end_invert_m - start_invert_m, 3) AS rise_m
                    FROM {pipes} WHERE end_invert_m - start_invert_m > {UPHILL_TOLERANCE_M}"""),
        DomainCheck(
            name="network_cycles", target="raw.census_pipes", severity="WARN",
            description_zh="管段按绘制方向构成闭合环路（水流无出路或方向错误）",
            reads=(pipes,), python=_network_cycles),
        DomainCheck(
            # attached to census_pipes, not census_manholes: each reads the other, and a check that reads
            # another asset waits for that asset's blocking checks, so the pair would wait for each other
            name="network_isolated_manholes", target="raw.census_pipes", severity="WARN",
            description_zh="检查井未连接任何管段（孤立井）",
            reads=(pipes, manholes),
            sql=f"""SELECT m.manhole_id, m.district_code FROM {manholes} m
                    WHERE m.manhole_id NOT IN (SELECT start_manhole_id FROM {pipes} WHERE start_manhole_id IS NOT NULL
                                               UNION ALL
                                               SELECT end_manhole_id FROM {pipes} WHERE end_manhole_id IS NOT NULL)"""),
        DomainCheck(
            name="reference_connection_manhole", target="raw.drainage_permits", severity="WARN",
            description_zh="排水许可的接驳检查井不在检查井普查中",
            reads=(_current("drainage_permits"), manholes),
            sql=f"""SELECT permit_no, connection_manhole_id FROM {_current('drainage_permits')}
                    WHERE connection_manhole_id NOT IN (SELECT manhole_id FROM {manholes}
                                                        WHERE manhole_id IS NOT NULL)"""),
        DomainCheck(
            name="permit_validity", target="raw.drainage_permits", severity="WARN",
            description_zh=(f"排水许可有效期异常：状态为有效但已过期，或有效期超过 {PERMIT_MAX_YEARS} 年"
                            "（城镇污水排入排水管网许可管理办法）"),
            reads=(_current("drainage_permits"),),
            sql=f"""SELECT permit_no, issued_on, valid_until, status,
                           CASE WHEN status = 'valid' AND valid_until < current_date THEN 'expired_but_valid'
                                ELSE 'longer_than_{PERMIT_MAX_YEARS}_years' END AS problem
                    FROM {_current('drainage_permits')}
                    WHERE (status = 'valid' AND valid_until < current_date)
                       OR valid_until > issued_on + INTERVAL {PERMIT_MAX_YEARS} YEAR + INTERVAL 1 DAY"""),
        DomainCheck(
            name="permit_validity", target="raw.discharge_permits", severity="WARN",
            description_zh=f"排污许可有效期超过 {PERMIT_MAX_YEARS} 年（排污许可管理条例）",
            reads=(_current("discharge_permits"),),
            sql=f"""SELECT permit_no, valid_from, valid_until FROM {_current('discharge_permits')}
                    WHERE valid_until > valid_from + INTERVAL {PERMIT_MAX_YEARS} YEAR + INTERVAL 1 DAY"""),
        DomainCheck(
            name="reference_receiving_plant", target="raw.discharge_permits", severity="WARN",
            description_zh="排污许可的受纳污水处理厂不在污水处理厂名录中",
            reads=(_current("discharge_permits"), _current("plants")),
            sql=f"""SELECT permit_no, receiving_plant_id FROM {_current('discharge_permits')}
                    WHERE receiving_plant_id IS NOT NULL
                      AND receiving_plant_id NOT IN (SELECT plant_id FROM {_current('plants')})"""),
        DomainCheck(
            name="reference_segment", target="raw.inspections", severity="WARN",
            description_zh="检测记录的管段编号不在管段普查中",
            reads=(_current("inspections"), pipes),
            sql=f"""SELECT DISTINCT batch_id, segment_id FROM {_current('inspections')}
                    WHERE segment_id NOT IN (SELECT segment_id FROM {pipes})"""),
        DomainCheck(
            name="reference_location", target="raw.misconnections", severity="WARN",
            description_zh="混接点的管段或检查井不在普查中",
            reads=(_current("misconnections"), pipes, manholes),
            sql=f"""SELECT misconnection_id, segment_id, manhole_id FROM {_current('misconnections')}
                    WHERE (segment_id IS NOT NULL AND segment_id NOT IN (SELECT segment_id FROM {pipes}))
                       OR (manhole_id IS NOT NULL AND manhole_id NOT IN (SELECT manhole_id FROM {manholes}))"""),
        DomainCheck(
            name="reference_segments", target="raw.upgrade_projects", severity="WARN",
            description_zh="改造项目涉及的管段编号不在管段普查中",
            reads=(_current("upgrade_projects"), pipes),
            sql=f"""SELECT project_id, segment_id FROM
                      (SELECT project_id, unnest(segment_ids) AS segment_id FROM {_current('upgrade_projects')})
                    WHERE segment_id NOT IN (SELECT segment_id FROM {pipes})"""),
        DomainCheck(
            name="reference_inlet_manhole", target="raw.plants", severity="WARN",
            description_zh="污水处理厂的进厂检查井不在检查井普查中",
            reads=(_current("plants"), manholes),
            sql=f"""SELECT plant_id, inlet_manhole_id FROM {_current('plants')}
                    WHERE inlet_manhole_id NOT IN (SELECT manhole_id FROM {manholes} WHERE manhole_id IS NOT NULL)"""),
        DomainCheck(
            name="reference_plant", target="raw.plant_lab", severity="WARN",
            description_zh="化验数据的厂站编号不在污水处理厂名录中",
            reads=(_current("plant_lab"), _current("plants")), scope=(_current("plant_lab"), "sampled_on"),
            sql=f"""SELECT plant_id, sampled_on AS batch, count(*) AS samples FROM {_current('plant_lab')}
                    WHERE {{scope}} AND plant_id NOT IN (SELECT plant_id FROM {_current('plants')})
                    GROUP BY ALL"""),
        DomainCheck(
            name="reference_mn", target="raw.plant_online", severity="WARN",
            description_zh="在线监测数据的 MN 编号不属于名录中任何污水处理厂的进口或出口监测点",
            reads=(_current("plant_online"), _current("plants")), scope=(_current("plant_online"), "data_date"),
            sql=f"""SELECT mn, data_date AS batch, count(*) AS packets FROM {_current('plant_online')}
                    WHERE {{scope}} AND mn NOT IN (SELECT inlet_mn FROM {_current('plants')} WHERE inlet_mn IS NOT NULL
                                                  UNION ALL
                                                  SELECT outlet_mn FROM {_current('plants')} WHERE outlet_mn IS NOT NULL)
                    GROUP BY ALL"""),
        DomainCheck(
            name="monitoring_completeness", target="raw.plant_online", severity="WARN",
            description_zh=(f"监测点每日有效小时数（HJ 212 标记 N 的小时均值）少于 {MIN_VALID_HOURS} 个，"
                            "日均值不可用"),
            reads=(_current("plant_online"),), scope=(_current("plant_online"), "data_date"),
            params={"min_valid_hours": MIN_VALID_HOURS},
            sql=_completeness_sql()),
    ]
    return checks


def _completeness_sql() -> str:
    factors = [spec["name"] for spec in load_contracts()["plant_online"].factors.values()]
    # one row per (mn, day, factor) the monitor reports at all that day: valid hours out of 24
    per_factor = " UNION ALL ".join(
        f"SELECT mn, data_date, hour(data_time) AS h, '{f}' AS factor, {f}_flag = 'N' AS valid "
        f"FROM raw.plant_online_current WHERE cn = '2061' AND {f}_flag IS NOT NULL AND {{scope}}"
        for f in factors)
    return f"""SELECT mn, data_date AS batch, factor, count(DISTINCT h) FILTER (WHERE valid) AS valid_hours
               FROM ({per_factor}) GROUP BY ALL
               HAVING count(DISTINCT h) FILTER (WHERE valid) < {MIN_VALID_HOURS}"""


def _reference_check(name: str, mart: str, column: str, parent: str, parent_column: str,
                     description_zh: str) -> DomainCheck:
    """ERROR when a mart cites a key its parent relation does not have (distinct failing keys)."""
    return DomainCheck(
        name=name, target=f"marts.{mart}", severity="ERROR", description_zh=description_zh,
        reads=(f"marts.{mart}", parent),
        sql=f"""SELECT DISTINCT {column} FROM marts.{mart}
                WHERE {column} NOT IN (SELECT {parent_column} FROM {parent})""")


def mart_checks(marts: set[str]) -> list[DomainCheck]:
    """Consistency between marts (and with the raw registries they cite): ERROR, the marts are ours."""
    plants = _current("plants")
    segments = "marts.pipe_segments"
    candidates = [
        _reference_check("reference_pipe_segments", "problem_pipes", "segment_id", segments, "segment_id",
                         "问题管网数据库中的管段须存在于 pipe_segments"),
        _reference_check("reference_pipe_segments", "capacity_screening", "segment_id", segments, "segment_id",
                         "能力筛查的管段须存在于 pipe_segments"),
        _reference_check("reference_plants", "effluent_compliance_daily", "plant_id", plants, "plant_id",
                         "出水达标日表的厂站须存在于污水处理厂名录"),
        _reference_check("reference_plants", "plant_influent_monthly", "plant_id", plants, "plant_id",
                         "进水月表的厂站须存在于污水处理厂名录"),
        _reference_check("reference_plants", "sewershed_quality", "plant_id", plants, "plant_id",
                         "汇水区质量表的厂站须存在于污水处理厂名录"),
        DomainCheck(
            name="reference_plants", target="marts.discharger_profile", severity="ERROR",
            description_zh="排水户画像中追溯到的下游污水处理厂须存在于名录",
            reads=("marts.discharger_profile", plants),
            sql=f"""SELECT credit_code, downstream_plant_id FROM marts.discharger_profile
                    WHERE downstream_plant_id IS NOT NULL
                      AND downstream_plant_id NOT IN (SELECT plant_id FROM {plants})"""),
        DomainCheck(
            name="city_row_consistent", target="marts.district_progress", severity="ERROR",
            description_zh="全市行的管网长度须等于各区县之和（同一口径、同一日期）",
            reads=("marts.district_progress",),
            # each row's length is rounded to 0.01 m: the city row and the sum of the district rows may differ by
            # half a centimetre per row rounded (issue 8's sample met 26250.80 against 26250.81)
            sql="""SELECT c.scope, c.as_of, c.network_length_m AS city_m, d.sum_m
                   FROM marts.district_progress c
                   JOIN (SELECT scope, as_of, sum(network_length_m) AS sum_m, count(*) AS n
                         FROM marts.district_progress
                         WHERE district_code <> '331000' GROUP BY ALL) d USING (scope, as_of)
                   WHERE c.district_code = '331000'
                     AND abs(c.network_length_m - d.sum_m) > 0.005 * (d.n + 1) + 1e-9"""),
    ]
    return [c for c in candidates if c.target.split(".", 1)[1] in marts
            and all(r.split(".", 1)[1] in marts for r in c.reads if r.startswith("marts."))]


# ------------------------------------------------------------------------------------------------------
# Running a domain check
# ------------------------------------------------------------------------------------------------------
def _failures(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[int, list[dict[str, Any]]]:
    """The number of failing rows and the first ``SAMPLE_LIMIT`` of them: only the samples leave DuckDB."""
    rel = con.execute(f"SELECT *, count(*) OVER () AS _n FROM ({sql}) LIMIT {SAMPLE_LIMIT}")
    cols = [d[0] for d in rel.description]
    records = [dict(zip(cols, r)) for r in rel.fetchall()]
    n = records[0]["_n"] if records else 0
    return n, [{k: v for k, v in r.items() if k != "_n"} for r in records]


def _failures_by_batch(con: duckdb.DuckDBPyConnection, sql: str,
                       params: list[Any]) -> dict[str, tuple[int, list[dict[str, Any]]]]:
    """Per batch (the query's ``batch`` column): its number of failing rows and up to ``SAMPLE_LIMIT`` samples.
    Counting and sampling happen in DuckDB, so a day with a million failures sends ten rows to Python."""
    # the batch key as DuckDB spells it, like the day fingerprints' keys
    rel = con.execute(f"""SELECT *, CAST(batch AS VARCHAR) AS _b, count(*) OVER (PARTITION BY batch) AS _n
                          FROM ({sql}) QUALIFY row_number() OVER (PARTITION BY batch) <= {SAMPLE_LIMIT}""", params)
    cols = [d[0] for d in rel.description]
    out: dict[str, tuple[int, list[dict[str, Any]]]] = {}
    for row in rel.fetchall():
        record = dict(zip(cols, row))
        n, batch = record.pop("_n"), record.pop("_b")
        out.setdefault(batch, (n, []))[1].append(record)
    return out


def run_domain_check(con: duckdb.DuckDBPyConnection, check: DomainCheck, asset_key: tuple[str, ...],
                     state: dict[str, Any], *, feed: str | None = None,
                     bureau: str | None = None,
                     fingerprints: Fingerprints | None = None) -> tuple[CheckOutcome, dict[str, Any]]:
    """Evaluate ``check``; returns the outcome and the state to save (after the connection is closed).
    ``fingerprints``: the evaluation's memo of relation fingerprints, shared by the checks of one asset."""
    outcome = CheckOutcome(check=check.name, asset_key=asset_key, title_zh=check.description_zh, kind="domain",
                           findings=[], feed=feed, bureau=bureau, extra={"params": check.params})
    fingerprints = fingerprints or Fingerprints(con)
    if check.scope is not None:
        try:  # the day fingerprints first: the relation's whole fingerprint is derived from them
            fingerprints.batches(*check.scope)
        except duckdb.CatalogException:
            pass  # reported below as a missing relation
    fps = {r: fingerprints.relation(r) for r in check.reads}
    missing = [r for r, fp in fps.items() if fp is None]
    if missing:
        outcome.findings.append(Finding(label=check.label, severity=check.severity, success=False,
                                        description_zh=f"{check.description_zh}（所需的表不存在 missing: {missing}）",
                                        exception=f"missing relations {missing}"))
        return outcome, state

    if check.scope is None:
        if state.get("inputs") == fps and "finding" in state:
            finding = Finding(**state["finding"])
            finding.carried = not finding.success
            outcome.findings.append(finding)
            outcome.reused = True
            return outcome, state
        try:
            if check.python:
                n, samples = check.python(con)
            else:
                n, samples = _failures(con, check.sql)
            finding = Finding(label=check.label, severity=check.severity, description_zh=check.description_zh,
                              success=n == 0, unexpected_count=n, samples=samples)
        except duckdb.Error as exc:  # a schema break upstream: report it, do not crash the run
            finding = Finding(label=check.label, severity=check.severity, description_zh=check.description_zh,
                              success=False, exception=str(exc).splitlines()[0])
            outcome.findings.append(finding)
            return outcome, state
        outcome.findings.append(finding)
        return outcome, {"inputs": fps, "finding": finding.__dict__}

    # incremental by day: query only the days whose fingerprint changed, keep failures per day
    relation, column = check.scope
    days = fingerprints.batches(relation, column)
    other_inputs = {r: fp for r, fp in fps.items() if r != relation}
    previous = state.get("days", {}) if state.get("others") == other_inputs else {}
    changed = [d for d, v in days.items() if previous.get(d, {}).get("fp") != v["fp"]]
    kept = {d: v for d, v in previous.items() if d in days and d not in changed}
    outcome.batches_total = len(days)
    outcome.batches_validated = sorted(changed)
    samples: list[dict[str, Any]] = []
    try:
        if changed:
            sql = check.sql.replace("{scope}", f"CAST({column} AS VARCHAR) IN (SELECT unnest(?::VARCHAR[]))")
            n_params = check.sql.count("{scope}")
            by_day = _failures_by_batch(con, sql, [changed] * n_params)
            for d in changed:
                n, rows = by_day.get(d, (0, []))
                kept[d] = {"fp": days[d]["fp"], "failing": n, "samples": rows}
    except duckdb.Error as exc:
        outcome.findings.append(Finding(label=check.label, severity=check.severity,
                                        description_zh=check.description_zh, success=False,
                                        exception=str(exc).splitlines()[0]))
        return outcome, state
    failing = sum(v["failing"] for v in kept.values())
    for d in sorted(kept, reverse=True):
        samples.extend(kept[d]["samples"])
    outcome.findings.append(Finding(label=check.label, severity=check.severity, description_zh=check.description_zh,
                                    success=failing == 0, unexpected_count=failing, samples=samples[:SAMPLE_LIMIT],
                                    carried=failing > 0 and not any(kept[d]["failing"] for d in changed)))
    outcome.reused = not changed
    return outcome, {"others": other_inputs, "days": kept}


def row_count_check(con: duckdb.DuckDBPyConnection, relation: str, asset_key: tuple[str, ...], bounds: dict,
                    state: dict[str, Any], *, feed: str | None = None,
                    bureau: str | None = None) -> tuple[CheckOutcome, dict[str, Any]]:
    """Row count against the previous evaluation's, within the suite's ``row_count_change`` bounds."""
    severity = bounds.get("severity", "WARN")
    desc = bounds.get("description_zh") or "行数变化须在允许范围内"
    outcome = CheckOutcome(check="row_count_change", asset_key=asset_key, title_zh=desc, kind="row_count",
                           findings=[], feed=feed, bureau=bureau)
    try:
        (n,) = con.execute(f"SELECT count(*) FROM {relation}").fetchone()
    except duckdb.Error as exc:
        outcome.findings.append(Finding(label="row_count_change", severity=severity, description_zh=desc,
                                        success=False, exception=str(exc).splitlines()[0]))
        return outcome, state
    prev = state.get("rows")
    problems = []
    if prev:
        change_pct = (n - prev) / prev * 100
        drop, growth = bounds.get("max_drop_pct"), bounds.get("max_growth_pct")
        if drop is not None and change_pct < -drop:
            problems.append({"previous": prev, "current": n, "change_pct": round(change_pct, 2),
                             "max_drop_pct": drop})
        if growth is not None and change_pct > growth:
            problems.append({"previous": prev, "current": n, "change_pct": round(change_pct, 2),
                             "max_growth_pct": growth})
    outcome.findings.append(Finding(
        label="row_count_change", severity=severity, description_zh=desc, success=not problems,
        unexpected_count=abs(n - prev) if problems else 0, element_count=n, samples=problems))
    outcome.extra = {"rows": n, "previous_rows": prev}
    return outcome, {"rows": n}
