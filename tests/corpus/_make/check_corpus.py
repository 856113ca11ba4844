"""Independent re-count of expected.yml from the corpus files.

Reads every file with its own small readers (csv/geojson/shapefile/xlsx/HJ 212), applies
simple usability rules written from DOMAIN.md, and compares with the hand-worked numbers:
data_records, unusable ordinals, duplicates, usable keys, header sets, unknown-label counts
(both ways: every label used outside the DOMAIN.md vocabulary must be listed), credit-code
checksums, HJ 212 CRCs, and the facts. Exit status 1 on any mismatch.

    /work/main/.venv/bin/python tests/corpus/_make/check_corpus.py
"""
import csv
import datetime as dt
import io
import json
import os
import re
import sys
import unicodedata
import zipfile
from collections import Counter, defaultdict

import yaml
from openpyxl import load_workbook

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from idcheck import credit_ok, hj212_parse_ok  # noqa: E402
from network import vincenty  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
EXP = yaml.safe_load(open(os.path.join(ROOT, "expected.yml"), encoding="utf-8"))
FAIL = []


def check(cond, msg):
    if not cond:
        FAIL.append(msg)
        print("FAIL:", msg)


def nf(s):
    return unicodedata.normalize("NFKC", s) if isinstance(s, str) else s


def blank(v):
    return v is None or (isinstance(v, str) and v.strip() == "")


# ------------------------------------------------------------------ readers
def read_csv(path):
    raw = open(path, "rb").read()
    if raw.startswith(b"\xef\xbb\xbf"):
        text, enc = raw[3:].decode("utf-8"), "utf-8-sig"
    else:
        try:
            text, enc = raw.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, enc = raw.decode("gbk"), "gbk"
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = rows[0]
    recs = [dict(zip(header, r)) for r in rows[1:] if any(c.strip() for c in r)]
    return header, recs, enc


def read_geojson(path):
    d = json.load(open(path, encoding="utf-8"))
    feats = d["features"]
    header = list(feats[0]["properties"].keys())
    for f in feats:
        check(list(f["properties"].keys()) == header, f"{path}: property order/names differ between features")
    recs = []
    for f in feats:
        r = dict(f["properties"])
        r["__geom"] = f["geometry"]
        recs.append(r)
    return header, recs, d.get("crs")


def read_shp_zip(path):
    import duckdb
    import duckdb_extensions
    duckdb_extensions.import_extension("spatial")
    con = duckdb.connect()
    con.execute("LOAD spatial")
    names = zipfile.ZipFile(path).namelist()
    shp = [n for n in names if n.endswith(".shp")][0]
    cur = con.execute(f"select *, ST_AsText(geom) as __wkt from ST_Read('/vsizip/{path}/{shp}')")
    cols = [c[0] for c in cur.description]
    recs = []
    for row in cur.fetchall():
        r = dict(zip(cols, row))
        r["__geom"] = r.pop("__wkt")
        r.pop("geom")
        r.pop("OGC_FID", None)   # added by the GDAL reader, not in the DBF
        recs.append(r)
    header = [c for c in cols if c not in ("geom", "__wkt", "OGC_FID")]
    prj = [n for n in names if n.endswith(".prj")]
    check(bool(prj), f"{path}: no .prj")
    return header, recs


def read_xlsx(path, expected_headers):
    wb = load_workbook(path)
    ws = wb.active
    merged_rows = {m.min_row for m in ws.merged_cells.ranges if m.max_col > m.min_col}
    rows = list(ws.iter_rows(values_only=True))
    hdr_i = None
    for i, r in enumerate(rows):
        vals = [v for v in r if v is not None]
        if vals and set(vals) == set(expected_headers):
            hdr_i = i
            break
    check(hdr_i is not None, f"{path}: header row not found")
    header = list(rows[hdr_i])
    recs = []
    for i in range(hdr_i + 1, len(rows)):
        r = rows[i]
        if (i + 1) in merged_rows:
            continue  # remarks / signature row
        if all(blank(v) for v in r):
            continue
        recs.append(dict(zip(header, r)))
    return header, recs, hdr_i, merged_rows


# ------------------------------------------------------------------ normalisers
def to_date(v):
    if v is None or v == "":
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, (int, float)):
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(v))
    s = nf(str(v)).strip()
    for pat in (r"^(\d{4})-(\d{1,2})-(\d{1,2})$", r"^(\d{4})/(\d{1,2})/(\d{1,2})$",
                r"^(\d{4})(\d{2})(\d{2})$", r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"):
        m = re.match(pat, s)
        if m:
            return dt.date(*map(int, m.groups()))
    if re.match(r"^\d{5}$", s):
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(s))
    return None


def to_num(v):
    if v is None or v == "":
        return None
    if isinstance(v, (int, float)):
        return float(v)
    s = nf(str(v)).replace(",", "").strip()
    mult = 1.0
    if s.endswith("万元"):
        s, mult = s[:-2], 10000.0
    s = re.sub(r"(m³/d|m3/d|mm|m)$", "", s).strip()
    s = re.sub(r"^(DN|d)", "", s, flags=re.I)
    try:
        return float(s) * mult
    except ValueError:
        return None


DISTRICTS = {"椒江区": "椒江区", "331002": "椒江区", "黄岩区": "黄岩区", "331003": "黄岩区", "路桥区": "路桥区",
             "331004": "路桥区", "三门县": "三门县", "331022": "三门县", "天台县": "天台县", "331023": "天台县",
             "仙居县": "仙居县", "331024": "仙居县", "温岭市": "温岭市", "331081": "温岭市", "临海市": "临海市",
             "331082": "临海市", "玉环市": "玉环市", "331083": "玉环市", "玉环县": "玉环市", "331021": "玉环市",
             "台州湾新区": "台州湾新区", "台州市": "台州市", "331000": "台州市"}

# literal DOMAIN.md vocabularies (None = DOMAIN.md lists none)
VOCAB = {
    "census_pipes": {"管道类别": {"污水", "雨水", "合流"}, "区域类型": {"建成区", "工业园区"},
                     "地区重要性": {"中心商业区", "交通干道", "其他机动车道", "其他"},
                     "土质": {"一般土层", "淤泥质土", "淤泥"}, "数据来源": {"人工估计"}, "材质": None,
                     "断面形式": {"矩形"}, "区县": set(DISTRICTS)},
    "census_manholes": {"井类型": None, "区县": set(DISTRICTS)},
    "inspections": {"检测方法": {"CCTV", "QV", "声纳"},
                    "缺陷代码": {"PL", "BX", "FS", "CK", "QF", "TJ", "TL", "AJ", "CR", "SL", "CJ", "JG", "ZW", "CQ", "SG", "FZ"},
                    "缺陷等级": {"1", "2", "3", "4", "一级", "二级", "三级", "四级"}},
    "misconnections": {"混接类型": None, "混接程度": {"重度", "中度", "轻度"}, "整改状态": None, "区县": set(DISTRICTS)},
    "drainage_permits": {"排水户类型": None, "状态": None, "区县": set(DISTRICTS)},
    "discharge_permits": {"管理类别": {"重点", "简化", "登记"}, "排放去向": None, "执行标准": None},
    "plants": {"类型": {"城镇", "工业园区"}, "执行标准": None, "区县": set(DISTRICTS)},
    "plant_lab": {"采样点": {"进水", "出水"}},
    "enforcement": {"检查方式": {"双随机", "专项检查", "投诉举报", "在线监控预警"},
                    "违法行为类型": {"无证排水", "超标排放", "偷排漏排", "破坏管网设施", "雨污混接"},
                    "案件状态": None, "来源部门": {"市综合执法局", "市生态环境局"}, "区县": set(DISTRICTS)},
    "upgrade_projects": {"项目类型": {"管网修复", "新建", "雨污分流", "泵站改造"},
                         "资金来源": {"本级财政", "专项债", "以奖代补", "社会资本"}, "状态": None, "区县": set(DISTRICTS)},
    "task_progress": {"状态": {"未开始", "进行中", "已完成", "逾期", "已销号"}, "区县": set(DISTRICTS)},
}

KEY = {"census_pipes": ["管段编号"], "census_manholes": ["检查井编号"], "inspections": ["检测批次", "管段编号", "缺陷位置"],
       "misconnections": ["混接点编号"], "drainage_permits": ["许可证编号"], "discharge_permits": ["许可证编号"],
       "plants": ["厂站编号"], "plant_lab": ["厂站编号", "采样日期", "采样点"], "enforcement": ["案件编号"],
       "upgrade_projects": ["项目编号"], "task_progress": ["任务", "区县"]}


def unusable_reasons(feed, r):
    """My own structural rules (DOMAIN.md roles): returns list of failing fields."""
    g = lambda f: r.get(f)
    bad = []
    if feed == "census_pipes":
        for f in ("管段编号", "起点井号", "终点井号"):
            if blank(g(f)):
                bad.append(f)
        if r.get("__geom") in (None, ""):
            bad.append("geometry")
    elif feed == "census_manholes":
        if blank(g("检查井编号")):
            bad.append("检查井编号")
        if r.get("__geom") is None:
            bad.append("geometry")
    elif feed == "inspections":
        for f in ("检测批次", "管段编号"):
            if blank(g(f)):
                bad.append(f)
        if to_date(g("检测日期")) is None:
            bad.append("检测日期")
    elif feed == "misconnections":
        if blank(g("混接点编号")):
            bad.append("混接点编号")
        if blank(g("管段编号")) and blank(g("检查井编号")):
            bad.append("管段编号/检查井编号")
    elif feed == "discharge_permits":
        k = nf(g("许可证编号") or "")
        if not re.match(r"^[0-9A-Z]{21}[A-Z]$", k):
            bad.append("许可证编号")
    elif feed == "plant_lab":
        for f in ("厂站编号", "采样日期", "采样点"):
            if blank(g(f)):
                bad.append(f)
    elif feed == "task_progress":
        if blank(g("任务")):
            bad.append("任务")
    else:
        for f in KEY[feed]:
            if blank(g(f)):
                bad.append(f)
    return bad


def canon(records, hv):
    """rename file headers to DOMAIN field names using header_variants; keep __geom."""
    m = {h["header"]: h["means"] for h in hv}
    out = []
    for r in records:
        c = {}
        for k, v in r.items():
            if k == "__geom":
                c[k] = v
                continue
            name = m.get(k, k)
            if name.startswith("经纬度 ("):
                c.setdefault("经纬度", {})[name] = v
                continue
            c[name] = v.strip() if isinstance(v, str) else v   # labels are compared as sent
        out.append(c)
    return out


# ------------------------------------------------------------------ per-file checks
LOADED = {}   # path -> (feed, canon records, usable flags)


def check_file(fx):
    feed, path = fx["feed"], fx["path"]
    full = os.path.join(ROOT, path)
    check(os.path.exists(full), f"{path}: missing")
    hv = fx.get("header_variants", [])
    if feed == "plant_online":
        lines = open(full, newline="").read().splitlines()
        check(len(lines) == fx["data_records"], f"{path}: lines {len(lines)} != {fx['data_records']}")
        bad = [i + 1 for i, l in enumerate(lines) if not hj212_parse_ok(l)]
        check(bad == sorted(u["record"] for u in fx["unusable"]), f"{path}: bad packets {bad}")
        check(len(lines) - len(bad) == fx["usable_records"], f"{path}: usable packets")
        raw = open(full, "rb").read()
        check((b"\r\n" in raw) == ("CRLF" in fx["encoding"]), f"{path}: line endings")
        cn = Counter(re.search(r"CN=(\d+)", l).group(1) for i, l in enumerate(lines) if i + 1 not in bad)
        check(dict(cn) == {k: v for k, v in fx["packets_by_cn"].items()}, f"{path}: CN counts {dict(cn)}")
        LOADED[path] = (feed, [l for i, l in enumerate(lines) if i + 1 not in bad], None)
        return
    if path.endswith(".csv"):
        header, recs, enc = read_csv(full)
        want = fx["encoding"].split(",")[0].strip()
        encmap = {"utf-8 (no BOM)": "utf-8", "utf-8 with BOM": "utf-8-sig", "gbk": "gbk"}
        check(encmap.get(want) == enc, f"{path}: encoding {enc} vs {want}")
    elif path.endswith(".geojson"):
        header, recs, crs = read_geojson(full)
        crs_name = (crs or {}).get("properties", {}).get("name", "")
        if "EPSG:4549" in fx["crs"]:
            check(crs_name.endswith("4549"), f"{path}: crs {crs_name}")
        elif "none declared" in fx["crs"]:
            check(crs is None, f"{path}: crs present")
        else:
            check(crs_name.endswith("4490"), f"{path}: crs {crs_name}")
    elif path.endswith(".zip"):
        header, recs = read_shp_zip(full)
    elif path.endswith(".xlsx"):
        header, recs, hdr_i, merged = read_xlsx(full, [h["header"] for h in hv])
        check(len(merged) >= 1, f"{path}: no merged remarks/title row")
    header = [h for h in header if h is not None]
    check(sorted(header) == sorted(h["header"] for h in hv),
          f"{path}: headers {sorted(header)} vs expected {sorted(h['header'] for h in hv)}")
    check(len(recs) == fx["data_records"], f"{path}: data_records {len(recs)} != {fx['data_records']}")
    c = canon(recs, hv)
    # missing columns
    present = {h["means"] for h in hv}
    for mcol in fx.get("missing_columns", []):
        check(mcol not in present, f"{path}: {mcol} said missing but present")
    # usability
    flags, got_unusable = [], []
    for i, r in enumerate(c, 1):
        b = unusable_reasons(feed, r)
        flags.append(not b)
        if b:
            got_unusable.append(i)
    exp_unusable = sorted(u["record"] for u in fx["unusable"])
    check(got_unusable == exp_unusable, f"{path}: unusable {got_unusable} vs {exp_unusable}")
    check(sum(flags) == fx["usable_records"], f"{path}: usable {sum(flags)} vs {fx['usable_records']}")
    # duplicates (exact rows)
    seen, dups = {}, []
    for i, r in enumerate(recs, 1):
        t = json.dumps({k: str(v) for k, v in r.items()}, ensure_ascii=False, sort_keys=True)
        if t in seen:
            dups.append([seen[t], i])
        else:
            seen[t] = i
    check(dups == [d["records"] for d in fx.get("duplicates", [])], f"{path}: duplicates {dups}")
    distinct = [i for i, r in enumerate(c, 1) if flags[i - 1] and i not in {d[1] for d in dups}]
    check(len(distinct) == fx["distinct_usable"], f"{path}: distinct usable {len(distinct)}")
    # usable keys
    if "usable_keys" in fx:
        kf = KEY[feed]
        if len(kf) == 1:
            keys = [c[i - 1].get(kf[0]) for i in distinct]
        else:
            def fmt(f, v):
                if v is None or v == "":
                    return ""
                if f == "缺陷位置":
                    return "%.1f" % to_num(v)
                if f == "采样日期":
                    return str(to_date(v))
                return str(v)
            keys = ["|".join(fmt(f, c[i - 1].get(f)) for f in kf) for i in distinct]
        check(keys == [str(k) for k in fx["usable_keys"]], f"{path}: usable keys {keys}")
    # unknown labels, both directions
    vocab = VOCAB.get(feed, {})
    listed = {(u["field"], u["value"]): u for u in fx.get("unknown_labels", [])}
    distinct_set = set(distinct)
    for field, allowed in vocab.items():
        cnt_use, cnt_all = Counter(), Counter()
        for i, r in enumerate(c, 1):
            v = r.get(field)
            if blank(v):
                continue
            v = str(v)
            cnt_all[v] += 1
            if i in distinct_set:
                cnt_use[v] += 1
        for v in cnt_all:
            if allowed is not None and v in allowed:
                continue
            u = listed.get((field, v))
            check(u is not None, f"{path}: label {field}={v} used but not listed")
            if u:
                check(u["count"] == cnt_use[v], f"{path}: {field}={v} count {cnt_use[v]} vs {u['count']}")
                ia = u.get("in_all_records", u["count"])
                check(ia == cnt_all[v], f"{path}: {field}={v} in_all {cnt_all[v]} vs {ia}")
    for (field, v), u in listed.items():
        if field not in vocab:
            # a field outside my label list (e.g. 区县 variants) must still occur
            n = sum(1 for i in distinct if str(c[i - 1].get(field)) == v)
            check(n == u["count"], f"{path}: listed {field}={v} count {n} vs {u['count']}")
    # credit codes
    for cc in fx.get("credit_codes", []):
        ok = credit_ok(cc["code"])
        check(ok == (cc["checksum"] == "pass"), f"{path}: credit code {cc['code']} checksum {ok}")
        check(any(str(r.get("统一社会信用代码")) == cc["code"] for r in c), f"{path}: code {cc['code']} not in file")
    LOADED[path] = (feed, c, flags, distinct)


for fx in EXP["files"]:
    check_file(fx)

# every corpus file is described
described = {fx["path"] for fx in EXP["files"]}
for d in sorted(os.listdir(ROOT)):
    if d.startswith("_") or not os.path.isdir(os.path.join(ROOT, d)):
        continue
    for f in os.listdir(os.path.join(ROOT, d)):
        check(f"{d}/{f}" in described, f"{d}/{f} not described in expected.yml")
    check(len(os.listdir(os.path.join(ROOT, d))) >= 2, f"{d}: fewer than two files")


# ------------------------------------------------------------------ facts
def usable(feed):
    out = []
    for path, v in LOADED.items():
        if v[0] == feed and feed != "plant_online":
            _, c, flags, distinct = v
            out += [(path, c[i - 1]) for i in distinct]
    return out


F = {f["id"]: f for f in EXP["facts"]}


def near(a, b, tol):
    return a is not None and b is not None and abs(a - b) <= tol


# pipes
pipes = {}
for path, r in usable("census_pipes"):
    L = to_num(r.get("长度"))
    g = r["__geom"]
    if L is None:
        coords = g["coordinates"]
        L = sum(vincenty(a, b) for a, b in zip(coords, coords[1:]))
    pipes[r["管段编号"]] = dict(r, L=L, district=DISTRICTS[str(r["区县"])], path=path)
agg = defaultdict(float)
for p in pipes.values():
    if p["管道类别"] == "污水":
        agg[(p["district"], p["区域类型"])] += p["L"]
fv = F["sewer_length_by_district_scope"]["value"]
for d, scopes in fv.items():
    for sc, val in scopes.items():
        if sc == "note":
            continue
        check(near(agg[(d, sc)], val, 0.5), f"length {d} {sc}: {agg[(d, sc)]:.2f} vs {val}")
oth = defaultdict(float)
for p in pipes.values():
    if p["district"] == "椒江区" and p["管道类别"] != "污水":
        oth[p["管道类别"]] += p["L"]
for k, v in F["other_pipe_length_jiaojiang"]["value"].items():
    check(near(oth[k], v, 0.05), f"other length {k} {oth[k]}")
adv = sorted(k for k, p in pipes.items() if to_num(p["终点管底标高"]) is not None and to_num(p["起点管底标高"]) is not None
             and to_num(p["终点管底标高"]) > to_num(p["起点管底标高"]))
check(adv == F["adverse_slope"]["value"], f"adverse {adv}")
into = defaultdict(list)
for k, p in pipes.items():
    into[p["终点井号"]].append(k)


def upstream(pid):
    mh, pp, stack = set(), set(), [pipes[pid]["起点井号"]]
    while stack:
        m = stack.pop()
        if m in mh:
            continue
        mh.add(m)
        for q in into[m]:
            pp.add(q)
            stack.append(pipes[q]["起点井号"])
    return mh, pp


mh, pp = upstream("JJ-WS-009")
uv = F["upstream_of_JJ-WS-009"]["value"]
check(sorted(mh) == sorted(uv["including_start_manhole"]), f"upstream manholes {sorted(mh)}")
check(sorted(pp) == sorted(uv["upstream_pipes"]), f"upstream pipes {sorted(pp)}")
for label, spec in F["plant_catchment"]["value"].items():
    inlet = re.search(r"进厂井 (\S+)\)", label).group(1)
    got = set()
    for k in into[inlet]:
        got |= {k} | upstream(k)[1]
    got = {k for k in got if pipes[k]["管道类别"] == "污水"}
    check(sorted(got) == sorted(spec["pipes"]), f"catchment {inlet} {sorted(got)}")
    check(near(sum(pipes[k]["L"] for k in got), spec["length_m"], 0.5), f"catchment length {inlet}")
# plants inlet manholes exist in census manholes
mhs = {r["检查井编号"]: r for _, r in usable("census_manholes")}
for k, v in F["manholes_usable"]["value"].items():
    check(sum(1 for r in mhs.values() if DISTRICTS[str(r["区县"])] == k) == v, f"manholes {k}")
check("JJ-W-100" in mhs and "HY-W-013" in mhs, "plant inlet manholes in census")
# every pipe end is a manhole of the census (usable pipes of 椒江/黄岩)
for k, p in pipes.items():
    if p["district"] in ("椒江区", "黄岩区"):
        check(p["起点井号"] in mhs and p["终点井号"] in mhs, f"pipe {k} ends not in manhole census")

# inspections
insp = usable("inspections")
segs = {r["管段编号"] for _, r in insp}
for label, spec in F["inspection_coverage_2024"]["value"].items():
    d, sc = label.split()
    tot = sum(p["L"] for p in pipes.values() if p["district"] == d and p["区域类型"] == sc and p["管道类别"] == "污水")
    ins = sum(p["L"] for k, p in pipes.items() if k in segs and p["district"] == d and p["区域类型"] == sc and p["管道类别"] == "污水")
    check(near(ins, spec["inspected_m"], 0.5) and near(tot, spec["total_m"], 0.5), f"coverage {label} {ins} {tot}")
    check(abs(ins / tot - spec["share"]) <= 0.002, f"coverage share {label} {ins / tot:.4f}")
# CJJ 181
PTS = {"PL": [0.5, 2, 5, 10], "BX": [1, 2, 5, 10], "FS": [0.5, 2, 5, None], "CK": [0.5, 2, 5, 10], "QF": [0.5, 2, 5, 10],
       "TJ": [1, 3, 5, 10], "TL": [1, 3, None, None], "AJ": [0.5, 2, 5, None], "CR": [0.5, 2, 5, None], "SL": [0.5, 2, 5, 10],
       "CJ": [0.5, 2, 5, 10], "JG": [0.5, 2, 5, 10], "ZW": [0.1, 2, 5, 10], "CQ": [1, 3, 5, 10], "SG": [0.5, 2, 5, 10], "FZ": [0, 0, 0, None]}
STRUCT = {"PL", "BX", "FS", "CK", "QF", "TJ", "TL", "AJ", "CR", "SL"}
GR = {"一级": 1, "二级": 2, "三级": 3, "四级": 4}


def grade(x):
    return "I" if x <= 1 else "II" if x <= 3 else "III" if x <= 6 else "IV"


def score(defs):
    if not defs:
        return 0.0
    defs = sorted(defs)
    s1 = s2 = 0.0
    for i, (pos, p) in enumerate(defs):
        gaps = [abs(pos - defs[j][0]) for j in (i - 1, i + 1) if 0 <= j < len(defs)]
        g = min(gaps) if gaps else 99
        if g > 1.5:
            s1 += p
        else:
            s2 += p
    return max(max(p for _, p in defs), (s1 + 1.1 * s2) / len(defs))


dd = defaultdict(lambda: {"s": [], "f": []})
seen_rows = set()
for _, r in insp:
    code = nf(r.get("缺陷代码") or "").upper()
    if not code:
        continue
    t = (r["管段编号"], code, to_num(r["缺陷位置"]))
    if t in seen_rows:
        continue
    seen_rows.add(t)
    g = r["缺陷等级"]
    g = GR.get(g, None) or int(g)
    dd[r["管段编号"]]["s" if code in STRUCT else "f"].append((to_num(r["缺陷位置"]), PTS[code][g - 1]))
KV = {"中心商业区": 10, "交通干道": 6, "其他机动车道": 3, "其他": 0}
TV = {"淤泥质土": 8, "淤泥": 10}
for seg, spec in F["cjj181_segment_grades"]["value"].items():
    Fv, Gv = score(dd[seg]["s"]), score(dd[seg]["f"])
    check(abs(Fv - spec["F"]) < 1e-9 and grade(Fv) == spec["grade_F"], f"CJJ F {seg} {Fv}")
    if "G" in spec:
        check(abs(Gv - spec["G"]) < 1e-9, f"CJJ G {seg} {Gv}")
    if "grade_G" in spec:
        check(grade(Gv) == spec["grade_G"], f"CJJ grade G {seg}")
    if "RI" in spec:
        p = pipes[seg]
        K = KV.get(p.get("地区重要性"), 0) if Fv >= 4 else 0
        D = to_num(p.get("管径"))
        E = 0 if Fv < 4 or D is None or D < 600 else (3 if D <= 1000 else 6 if D <= 1500 else 10)
        T = 0 if Fv == 0 else TV.get(p.get("土质"), 0)
        RI = 0.7 * Fv + 0.1 * K + 0.05 * E + 0.15 * T
        check(abs(RI - spec["RI"]) < 1e-9, f"RI {seg} {RI}")
        rg = "I" if RI <= 1 else "II" if RI <= 4 else "III" if RI <= 7 else "IV"
        check(rg == spec["grade_RI"], f"RI grade {seg}")

# misconnections
mis = usable("misconnections")
cnt = defaultdict(Counter)
for _, r in mis:
    seg = r.get("管段编号") or None
    d = pipes[seg]["district"] if seg in pipes else DISTRICTS[str(mhs[r["检查井编号"]]["区县"])]
    cnt[d][r["混接程度"]] += 1
    cnt[d]["total"] += 1
for d, spec in F["misconnection_counts"]["value"].items():
    for k, v in spec.items():
        kk = "严重" if k == "unknown_degree_严重" else k
        check(cnt[d][kk] == v, f"misconnections {d} {k} {cnt[d][kk]}")
sev = sorted({r["管段编号"] for _, r in mis if r["混接程度"] == "重度" and r.get("管段编号")})
check(sev == sorted(F["problem_register"]["value"]["by_severe_misconnection"]), f"severe {sev}")

# drainage permits (later file corrects earlier; file order = name order within district)
perm = {}
base = [p for p, v in LOADED.items() if v[0] == "drainage_permits" and "更正" not in p]
corr = [p for p, v in LOADED.items() if v[0] == "drainage_permits" and "更正" in p]


def valid_on(r, day):
    st = r.get("状态")
    if st in ("注销", "吊销", "过期", "已过期"):
        return False
    a, b = to_date(r.get("发证日期")), to_date(r.get("有效期至"))
    return a <= day <= b


for with_corr in (False, True):
    perm = {}
    for p in base + (corr if with_corr else []):
        _, c, flags, distinct = LOADED[p]
        for i in distinct:
            perm[c[i - 1]["许可证编号"]] = c[i - 1]
    day = dt.date(2024, 12, 31)
    byd = defaultdict(list)
    for k, r in perm.items():
        if valid_on(r, day):
            byd[DISTRICTS.get(str(r["区县"]), "黄岩区" if r["区县"] == "黄岩" else None)].append(k)
    spec = F["drainage_permits_valid_2024-12-31"]["value"]
    if with_corr:
        for d in ("椒江区", "黄岩区"):
            check(sorted(byd[d]) == sorted(spec[d]["keys"]), f"permits valid {d} {byd[d]}")
        check(sum(len(v) for v in byd.values()) == spec["total"], "permits total")
    else:
        check(sorted(byd["椒江区"]) == sorted(spec["椒江区_without_the_correction"]["keys"]), f"permits w/o corr {byd['椒江区']}")
    exp30 = F["drainage_permits_expiring_30d"]["value"]["after_correction" if with_corr else "without_correction"]
    d0 = dt.date(2024, 12, 15)
    got30 = sorted(k for k, r in perm.items() if valid_on(r, d0) and d0 <= to_date(r["有效期至"]) <= d0 + dt.timedelta(days=30))
    check(got30 == sorted(exp30), f"expiring {with_corr} {got30}")

# discharge permits
dp = usable("discharge_permits")
spec = F["discharge_permits"]["value"]
check(len(dp) == spec["usable"], f"discharge usable {len(dp)}")
check(sum(1 for _, r in dp if r["管理类别"] in ("重点", "重点管理")) == spec["重点"], "重点")
check(sum(1 for _, r in dp if r["管理类别"] == "重点") == spec["重点_literal_only"], "重点 literal")
cod = sum(to_num(r.get("许可排放量 COD")) or 0 for _, r in dp if r.get("受纳污水处理厂") == "台州市中心污水处理厂")
check(near(cod, spec["cod_t_per_a_into_中心厂"], 1e-6), f"cod {cod}")

# plants
pl = {r["厂站编号"]: r for _, r in usable("plants")}
spec = F["plants_registry"]["value"]
check(len(pl) == spec["count"], f"plants {len(pl)}")
check(near(sum(to_num(r["设计规模"]) for r in pl.values()), spec["design_capacity_wan_m3_d"], 1e-6), "capacity")
check(sorted(k for k, r in pl.items() if blank(r.get("进口监测点MN编号"))) == spec["without_mn"], "without mn")

# lab
lab = usable("plant_lab")
bod = defaultdict(list)
for _, r in lab:
    if r["采样点"] in ("进水", "进水口"):
        bod[r["厂站编号"]].append(to_num(r["BOD5"]))
for k, spec in F["influent_bod5_june_2024"]["value"].items():
    if not isinstance(spec, dict):
        continue
    m = sum(bod[k]) / len(bod[k])
    check(near(m, spec["mean_mg_l"], 1e-9) and len(bod[k]) == spec["n"], f"bod {k} {m}")
share = sum(to_num(pl[k]["设计规模"]) for k in bod if sum(bod[k]) / len(bod[k]) > 100) / sum(to_num(pl[k]["设计规模"]) for k in bod)
check(abs(share - F["influent_bod5_june_2024"]["value"]["capacity_share_above_100"]) < 0.0005, f"share {share}")


# online
def parse_pkt(line):
    n = int(line[2:6])
    seg = line[6:6 + n]
    head, cp = seg.split("CP=&&")
    h = dict(x.split("=", 1) for x in head.strip(";").split(";") if x)
    body = cp.rstrip("&")
    items = {}
    for part in body.split(";"):
        for kv in part.split(","):
            k, v = kv.split("=")
            items[k] = v
    return h, items


on = []
for p, v in LOADED.items():
    if v[0] == "plant_online":
        on += [parse_pkt(l) for l in v[1]]
spec = F["online_valid_hours_2024-06-10"]
vals = defaultdict(list)
for h, it in on:
    if h["CN"] == "2061" and h["MN"] == "331002WS01CS000000000002" and it["DataTime"].startswith("20240610"):
        for f in ("w01018", "w21003", "w01001", "w21001", "w21011", "w00000"):
            if it.get(f + "-Flag") == "N":
                vals[f].append(float(it.get(f + "-Avg")))
for f, n in spec["value"].items():
    check(len(vals[f]) == n, f"valid hours {f} {len(vals[f])}")
for f, m in spec["mean_valid_hourly"].items():
    check(abs(sum(vals[f]) / len(vals[f]) - m) < 0.005, f"mean hourly {f}")
LIM = {"w01018": 40, "w21003": 2, "w21001": 12, "w21011": 0.3}   # DB33/2169-2018 existing, warm period
exc = []
for h, it in on:
    if h["CN"] == "2031" and h["MN"] == "331004WS01CS000000000002":
        for f, lim in LIM.items():
            if it.get(f + "-Flag") == "N" and float(it[f + "-Avg"]) > lim:
                exc.append((it["DataTime"][:8], f))
want = [(e["date"].strftime("%Y%m%d"), re.search(r"\((w\d+)\)", e["factor"]).group(1)) for e in F["online_effluent_exceedances_luqiao"]["value"]]
check(sorted(exc) == sorted(want), f"exceedances {exc}")

# enforcement
enf = usable("enforcement")
pen, fines = defaultdict(list), defaultdict(float)
for path, r in enf:
    who = "生态环境局" if "生态" in path else "综合执法局"
    amt = r.get("罚款金额")
    yuan = None
    if amt not in (None, ""):
        yuan = to_num(amt)
        if who == "生态环境局":
            yuan *= 10000
    if not blank(r.get("处罚决定书文号")) and yuan and yuan > 0:
        pen[who].append(r["案件编号"])
        fines[who] += yuan
spec = F["enforcement_penalties"]["value"]
for who in ("综合执法局", "生态环境局"):
    check(sorted(pen[who]) == sorted(spec[who]["keys"]) and near(fines[who], spec[who]["fines_yuan"], 1e-6), f"penalties {who} {pen[who]} {fines[who]}")
check(sum(1 for _, r in enf if r["案件状态"] in ("处罚", "已处罚")) == spec["by_status_label_处罚_or_已处罚"], "status penalties")
day = dt.date(2024, 12, 31)
od = sorted(r["案件编号"] for _, r in enf if to_date(r.get("整改期限")) and to_date(r["整改期限"]) < day and blank(r.get("整改完成日期")))
check(od == sorted(F["enforcement_rectification_overdue"]["value"]), f"overdue rect {od}")

# projects
pj = usable("upgrade_projects")
spec = F["projects"]["value"]
check(len(pj) == spec["usable"], "projects usable")
done = sorted(r["项目编号"] for _, r in pj if r["状态"] in ("完工", "已完工", "已验收"))
check(done == sorted(spec["completed"]), f"completed {done}")
late = sorted(r["项目编号"] for _, r in pj if r["状态"] not in ("完工", "已完工", "已验收") and to_date(r["计划完工"]) < day)
check(late == sorted(spec["past_planned_completion_not_done"]), f"late {late}")
inv = 0.0
for _, r in pj:
    v = r["总投资"]
    inv += (to_num(v) / 10000) if isinstance(v, str) and v.endswith("万元") else to_num(v)
check(near(inv, spec["total_investment_wan"], 1e-6), f"investment {inv}")
seglen = defaultdict(float)
for _, r in pj:
    if r["状态"] in ("完工", "已完工", "已验收") and not blank(r.get("涉及管段编号")):
        for s in re.split(r"[、,，;；/\s]+", r["涉及管段编号"]):
            if s in pipes and pipes[s]["管道类别"] == "污水":
                seglen[pipes[s]["district"]] += pipes[s]["L"]
for d, v in spec["sewer_length_in_completed_projects_m"].items():
    check(near(seglen[d], v, 0.05), f"project length {d} {seglen[d]}")

# per-file `values` (normalised cells) and `derivable` districts
KEYFIELD = {f: KEY[f][0] for f in KEY}
for fx in EXP["files"]:
    if fx["feed"] == "plant_online" or fx["path"] not in LOADED:
        continue
    _, c, flags, distinct = LOADED[fx["path"]]
    for v in fx.get("values", []):
        if "record" in v:
            r = c[v["record"] - 1]
        else:
            r = next(x for x in c if x.get(KEYFIELD[fx["feed"]]) == v["key"])
        field = v["field"]
        raw = r.get(field)
        if isinstance(v.get("value"), dt.date):
            check(to_date(raw) == v["value"], f"{fx['path']}: value {field} {raw!r} -> {to_date(raw)} vs {v['value']}")
        for unit, mult in (("value_mm", 1), ("value_yuan", 1), ("value_wan", 1)):
            if unit in v:
                got = to_num(raw)
                if unit == "value_yuan" and "万元" in [h["header"][-3:-1] for h in fx["header_variants"] if h["means"] == field][0:1]:
                    got *= 10000
                if unit == "value_wan" and isinstance(raw, str) and raw.endswith("万元"):
                    got /= 10000
                check(near(got, v[unit], 1e-9), f"{fx['path']}: {unit} {field} {raw!r} -> {got}")
    for dv in fx.get("derivable", []):
        if dv["field"] != "区县" or dv.get("value") is None:
            continue
        r = next(x for x in c if x.get(KEYFIELD[fx["feed"]]) == dv["key"])
        got = None
        if fx["feed"] == "misconnections":
            seg = r.get("管段编号")
            got = pipes[seg]["district"] if seg in pipes else DISTRICTS[str(mhs[r["检查井编号"]]["区县"])]
        elif fx["feed"] == "plants":
            got = DISTRICTS[str(mhs[r["进厂检查井编号"]]["区县"])]
        elif fx["feed"] == "enforcement":
            area = r["统一社会信用代码"][2:8]
            got = DISTRICTS.get(area)
            if got == "台州市":   # city level: try a drainage permit of the same code
                got = next((DISTRICTS[str(p["区县"])] for _, p in usable("drainage_permits")
                            if p["统一社会信用代码"] == r["统一社会信用代码"]), None)
            check(area == dv.get("code_area", area), f"{fx['path']}: code area {area}")
        check(got == dv["value"], f"{fx['path']}: derivable {dv['key']} {got} vs {dv['value']}")

# task ledger
tp = usable("task_progress")
DONE = {"已完成", "完成", "已销号"}
spec = F["task_ledger_overdue"]["value"]
t01_open = sorted(r["区县"] for _, r in tp if "方案编制" in r["任务"] and r["状态"] not in DONE)
check(t01_open == sorted(x["区县"] for x in spec["on_2024-12-31"]), f"T01 open {t01_open}")
t03_open = sorted(r["区县"] for _, r in tp if "专项规划" in r["任务"] and r["状态"] not in DONE)
check(t03_open == sorted(x["区县"] for x in spec["on_2025-01-01_add"]), f"T03 open {t03_open}")
ALL = {"椒江区", "黄岩区", "路桥区", "三门县", "天台县", "仙居县", "温岭市", "临海市", "玉环市", "台州湾新区"}
for t, word in (("T01", "方案编制"), ("T03", "专项规划")):
    rep = {DISTRICTS.get(r["区县"], r["区县"]) for _, r in tp if word in r["任务"]}
    check(sorted(ALL - rep) == sorted(spec["not_reported"][t]), f"{t} not reported {sorted(ALL - rep)}")
late = [(r["区县"], to_date(r["日期"])) for _, r in tp if "方案编制" in r["任务"] and r["状态"] in DONE
        and to_date(r["日期"]) > dt.date(2023, 11, 30)]
check(late == [(x["区县"], x["date"]) for x in spec["completed_late"]], f"T01 late {late}")

# bad deliveries
for b in EXP["bad_deliveries"]:
    fx = next(f for f in EXP["files"] if f["path"] == b["path"])
    check(len(fx["unusable"]) == b["unusable"] and fx["data_records"] == b["data_records"], f"bad {b['path']}")
    check(b["unusable"] / b["data_records"] > 0.2, f"bad share {b['path']}")
for fx in EXP["files"]:
    share = len(fx["unusable"]) / fx["data_records"]
    is_bad = any(b["path"] == fx["path"] for b in EXP["bad_deliveries"])
    check((share > 0.2) == is_bad, f"loss share {fx['path']} {share:.3f}")

print("checked", len(EXP["files"]), "files and", len(EXP["facts"]), "facts:", "FAILURES %d" % len(FAIL) if FAIL else "all match")
sys.exit(1 if FAIL else 0)
