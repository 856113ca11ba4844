"""What the progress report shows, read from the published copy only (``published/sewershare.duckdb``): the
marts as every bureau receives them, never the warehouse. Each function returns a small DataFrame shaped for one
chart or table; the bulk work (joins, aggregation, GeoJSON of the geometry) happens in DuckDB.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from pipelines import duck

SCOPE_ZH = {"built_up": "城镇建成区", "industrial_park": "工业园区"}
FACTOR_ZH = {"cod": "COD", "nh3n": "氨氮", "tn": "总氮", "tp": "总磷"}


@dataclass
class Published:
    con: duckdb.DuckDBPyConnection

    @classmethod
    def open(cls, path: Path) -> "Published":
        return cls(duck.connect(path, read_only=True, extensions=("spatial",)))

    def close(self) -> None:
        self.con.close()

    def has(self, schema: str, table: str) -> bool:
        return bool(self.con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ? "
            "AND database_name = current_database()", [schema, table]).fetchone()[0])

    def df(self, sql: str, params: list | None = None) -> pd.DataFrame:
        return self.con.execute(sql, params or []).df()


def reporting_date(p: Published):
    return p.con.execute("SELECT max(as_of) FROM marts.task_ledger").fetchone()[0]


def publication(p: Published) -> dict:
    row = p.con.execute("SELECT max(generated_at), any_value(run_id), count(*), sum(row_count) "
                        "FROM meta.publication").fetchone()
    return {"generated_at": row[0], "run_id": row[1], "datasets": row[2], "rows": row[3]}


def city_kpis(p: Published, as_of) -> pd.DataFrame:
    """The city's measured targets: one row per target of the ledger's city rows (331000)."""
    return p.df("""
        SELECT DISTINCT item_code, item_zh, milestone_zh, status_zh, deadline, completed_on, measure_zh, lead_units
        FROM marts.task_ledger
        WHERE district_code = '331000' AND status_source = 'data'
        ORDER BY item_code""")


def kpi_cards(p: Published, as_of) -> list[dict]:
    rows = p.con.execute("""
        SELECT scope, inspected_pct, inspected_expected_pct, inspected_next_target_pct, inspected_next_target_deadline,
               rectified_pct, rectified_expected_pct, rectified_next_target_pct, rectified_next_target_deadline
        FROM marts.district_progress
        WHERE district_code = '331000' AND as_of = (SELECT max(as_of) FROM marts.district_progress WHERE as_of <= ?)
        ORDER BY scope""", [as_of]).fetchall()
    cards = []
    for scope, ins, ins_exp, ins_next, ins_dl, rec, rec_exp, rec_next, rec_dl in rows:
        cards.append({"label": f"{SCOPE_ZH.get(scope, scope)}排查评估率", "value": ins, "expected": ins_exp,
                      "target": ins_next, "deadline": ins_dl})
        cards.append({"label": f"{SCOPE_ZH.get(scope, scope)}问题管网改造率", "value": rec, "expected": rec_exp,
                      "target": rec_next, "deadline": rec_dl})
    bod5 = p.con.execute("SELECT year, capacity_share_pct, target_pct, target_deadline, met FROM marts.city_bod5_kpi "
                         "WHERE year <= extract(year FROM ?::DATE) ORDER BY year DESC LIMIT 1", [as_of]).fetchone()
    if bod5:
        cards.append({"label": f"进水BOD5>100mg/L规模占比（{bod5[0]}年）", "value": bod5[1], "expected": None,
                      "target": bod5[2], "deadline": bod5[3]})
    return cards


def district_progress(p: Published, as_of) -> pd.DataFrame:
    df = p.df("""
        SELECT district_code, district_name, scope, inspected_pct, inspected_expected_pct, inspected_on_track,
               rectified_pct, rectified_expected_pct, rectified_on_track, network_length_m, problem_length_m
        FROM marts.district_progress
        WHERE as_of = (SELECT max(as_of) FROM marts.district_progress WHERE as_of <= ?)
        ORDER BY district_code, scope""", [as_of])
    df["scope_zh"] = df["scope"].map(SCOPE_ZH)
    return df


def bod5_monthly(p: Published, as_of) -> pd.DataFrame:
    return p.df("""
        SELECT plant_id, plant_name, month, mean_influent_bod5_mg_l AS bod5
        FROM marts.plant_influent_monthly
        WHERE plant_type = 'municipal' AND mean_influent_bod5_mg_l IS NOT NULL AND month <= ?
        ORDER BY plant_name, month""", [as_of])


def effluent_days(p: Published, as_of) -> pd.DataFrame:
    """One cell per plant and day: the worst state over the four factors (超标 > 数据不足 > 达标)."""
    return p.df("""
        WITH d AS (
            SELECT e.plant_id, e.date, e.factor,
                   CASE e.verdict WHEN 'exceeded' THEN 2 WHEN 'insufficient_data' THEN 1 ELSE 0 END AS rank
            FROM marts.effluent_compliance_daily e WHERE e.date <= ? AND e.verdict <> 'no_limit'
        )
        SELECT d.plant_id, coalesce(m.point_name, d.plant_id) AS plant_name, d.date,
               CASE max(d.rank) WHEN 2 THEN '超标' WHEN 1 THEN '数据不足' ELSE '达标' END AS state_zh,
               string_agg(CASE WHEN d.rank > 0 THEN d.factor END, '、' ORDER BY d.factor) AS factors
        FROM d LEFT JOIN marts.map_points m ON m.point_kind = 'plant' AND m.point_id = d.plant_id
        GROUP BY ALL ORDER BY plant_name, d.date""", [as_of])


def problem_register(p: Published) -> pd.DataFrame:
    return p.df("""
        SELECT pp.district_code, coalesce(d.district_name, pp.district_code) AS district_name,
               coalesce(pp.structural_grade, '未检测') AS grade,
               CASE pp.status WHEN 'rectified' THEN '已整改' WHEN 'awaiting_acceptance' THEN '已完工待验收'
                              WHEN 'in_progress' THEN '整改中' ELSE '未整改' END AS status_zh,
               count(*) AS segments, round(sum(pp.length_m) / 1000, 3) AS length_km
        FROM marts.problem_pipes pp
        LEFT JOIN (SELECT DISTINCT district_code, district_name FROM marts.district_progress) d
               ON d.district_code = pp.district_code
        GROUP BY ALL ORDER BY 1, 3""")


def ledger_items(p: Published) -> pd.DataFrame:
    """One row per item and district (the units of a row share its status)."""
    df = p.df("""
        SELECT item_code, any_value(task_zh) AS task_zh, any_value(item_zh) AS item_zh, district_code,
               any_value(district_name) AS district_name, any_value(status) AS status, any_value(status_zh) AS status_zh,
               any_value(deadline) AS deadline, any_value(overdue_days) AS overdue_days,
               any_value(lead_units) AS lead_units, any_value(completed_on) AS completed_on,
               any_value(status_source_zh) AS status_source_zh, any_value(measure_zh) AS measure_zh,
               any_value(evidence_doc_no) AS evidence_doc_no, bool_or(evidence_missing) AS evidence_missing,
               bool_or(reported_conflicts) AS reported_conflicts,
               string_agg(CASE WHEN unit_role = 'implementing' THEN unit_name END, '、') AS implementing
        FROM marts.task_ledger GROUP BY item_code, district_code""")
    parts = df["item_code"].str.split(".", expand=True).astype(int)
    df["item_sort"] = parts[0] * 100 + parts[1]
    df["item_label"] = df["item_code"] + " " + df["item_zh"].str.slice(0, 16)
    return df.sort_values(["item_sort", "district_code"]).reset_index(drop=True)


def open_alerts(p: Published) -> pd.DataFrame:
    return p.df("""
        SELECT alert_key, alert_type_zh, message_zh, district_name, responsible_unit_name, raised_on, age_days,
               state_zh, acknowledged_on, raised_by_record
        FROM marts.alerts WHERE state <> 'closed'
        ORDER BY age_days DESC, alert_key""")


def alert_counts(p: Published) -> pd.DataFrame:
    return p.df("""
        SELECT alert_type_zh, state_zh, count(*) AS alerts FROM marts.alerts GROUP BY ALL ORDER BY 1, 2""")


def alert_age_buckets(alerts: pd.DataFrame) -> pd.DataFrame:
    if alerts.empty:
        return pd.DataFrame(columns=["alert_type_zh", "age_bucket", "age_order", "alerts"])
    bins = [-1, 7, 30, 90, 365, 10 ** 6]
    labels = ["7天内", "8–30天", "31–90天", "91–365天", "一年以上"]
    df = alerts.assign(age_bucket=pd.cut(alerts["age_days"], bins=bins, labels=labels).astype(str))
    df["age_order"] = df["age_bucket"].map({label: i for i, label in enumerate(labels)})
    return df.groupby(["alert_type_zh", "age_bucket", "age_order"], as_index=False).size().rename(
        columns={"size": "alerts"})


def quality_status(p: Published) -> pd.DataFrame | None:
    """``meta.quality_status`` (written by the publication from the check results, issue 11) or None."""
    if not p.has("meta", "quality_status"):
        return None
    return p.df("""SELECT asset, check_name, severity, passed, description, evaluated_at, run_id
                   FROM meta.quality_status ORDER BY passed, severity, asset, check_name""")


def map_layers(p: Published) -> tuple[list[tuple[str, str]], dict[str, list[dict]], pd.DataFrame]:
    """Districts to map, the pipe features per district (GeoJSON in EPSG:4549 with grade and problem flag), and
    the points (plants; direct-discharge points where network_anomalies lists them)."""
    districts = p.con.execute("""
        SELECT DISTINCT s.district_code, coalesce(d.district_name, s.district_code)
        FROM marts.pipe_segments s
        LEFT JOIN (SELECT DISTINCT district_code, district_name FROM marts.district_progress) d
               ON d.district_code = s.district_code
        WHERE s.geometry IS NOT NULL ORDER BY 1""").fetchall()
    rows = p.con.execute("""
        SELECT district_code, ST_AsGeoJSON(geometry) AS geojson, coalesce(structural_grade, '未检测') AS grade,
               coalesce(is_problem, false) AS problem
        FROM marts.pipe_segments
        WHERE geometry IS NOT NULL AND coalesce(in_plan_scope, true)""").fetchall()
    segments: dict[str, list[dict]] = {}
    for district, geojson, grade, problem in rows:
        segments.setdefault(district, []).append(
            {"type": "Feature", "geometry": json.loads(geojson), "properties": {"grade": grade, "problem": problem}})
    points = p.df("""
        SELECT district_code, ST_X(geometry) AS x, ST_Y(geometry) AS y, '污水处理厂' AS kind_zh, point_name AS label
        FROM marts.map_points WHERE point_kind = 'plant' AND geometry IS NOT NULL""")
    direct = p.df("""
        SELECT s.district_code,
               ST_X(CASE WHEN s.is_reversed THEN ST_StartPoint(s.geometry) ELSE ST_EndPoint(s.geometry) END) AS x,
               ST_Y(CASE WHEN s.is_reversed THEN ST_StartPoint(s.geometry) ELSE ST_EndPoint(s.geometry) END) AS y,
               '直排口' AS kind_zh, '直排口 ' || a.object_id AS label
        FROM marts.network_anomalies a
        JOIN marts.pipe_segments s ON s.segment_id = a.object_id
        WHERE a.anomaly_kind = 'direct_discharge' AND s.geometry IS NOT NULL""")
    return districts, segments, pd.concat([points, direct], ignore_index=True)
