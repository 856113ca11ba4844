"""census_pipes and census_manholes: one district's network as its census export.

Each district exports in its own CRS and container (places.py): GeoJSON in EPSG:4549 or 4490
(one district without a ``crs`` member: CGCS2000 lon/lat implied), one district as a zipped
Shapefile whose DBF field names are the ≤10-byte synonyms (pinyin codes such as GDBH). Census
gaps are deliberate and recorded: manholes missing from the manhole census (pipes pointing at
them are ``orphan_reference`` anomalies), segments drawn against the flow (``against_flow``),
a handful of segments missing from the pipe census per district (the pipes draining into the gap are
``network_gap`` anomalies), unknown install years, 数据来源 人工估计, box culverts whose 管径 is B×H, and a
direct discharge or two per district (直排口: an overflow pipe from a sewage manhole to a river outfall, the
outfall a 排放口 in the manhole census; the pipe is a ``direct_discharge`` anomaly, its row never spoiled).

Spoiled pipe rows are quarantined at ingestion, and a quarantined segment cuts every tracing path
through it. So only leaf segments (no pipe drains into their start manhole, and they do not end at a
plant inlet) are spoiled: the loss of one strands nothing else. The only recorded cuts are the
``network_gap`` ones, each stranding a few segments.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from pipelines.sample import mess
from pipelines.sample.context import Context
from pipelines.sample.mess import fmt_district, fmt_pipe_size, pick_headers
from pipelines.sample.network import Network
from pipelines.sample.places import ROAD_STEMS, ROAD_SUFFIXES
from pipelines.sample.table import Sheet, Spoil
from pipelines.sample.writers import (_concat, coord_text, line_geometries, point_geometries, write_geojson,
                                      write_shapefile_zip)

PIPE_COLUMNS = ["segment_id", "start_manhole_id", "end_manhole_id", "pipe_category", "pipe_size", "section_shape",
                "material", "install_year", "start_invert_m", "end_invert_m", "length_m", "road_name", "scope",
                "district_code", "owner_unit", "area_importance", "soil_type", "data_source", "reported_on"]
OPTIONAL_PIPE_COLUMNS = ("owner_unit", "area_importance", "soil_type")
MANHOLE_COLUMNS = ["manhole_id", "manhole_type", "ground_elevation_m", "depth_m", "road_name", "district_code"]

MATERIAL_LABELS = {"RC": ("钢筋混凝土", "砼", "混凝土"), "HDPE": ("HDPE", "高密度聚乙烯"), "PE": ("PE",),
                   "PVC": ("UPVC", "PVC"), "DI": ("球墨铸铁",), "CI": ("铸铁",), "ST": ("钢", "钢管"),
                   "GRP": ("玻璃钢",), "BRICK": ("砖砌", "砖")}
CATEGORY_LABELS = {"sewage": ("污水", "污水管"), "combined": ("合流", "合流管")}
SCOPE_LABELS = {False: ("建成区", "城镇建成区"), True: ("工业园区", "园区")}
SHAPE_LABELS = {False: ("圆形", "圆管"), True: ("矩形", "方涵", "箱涵")}
SURVEYED_LABELS = ("实测", "物探")
ESTIMATED_LABELS = ("人工估计", "估计")


@dataclass
class Census:
    """What other feeds of the district need to reference the census."""
    net: Network
    node_ids: np.ndarray
    seg_ids: np.ndarray
    missing_manhole: np.ndarray      # bool per node: absent from the manhole census (a census gap)
    absent_segment: np.ndarray       # bool per segment: absent from the pipe census (a network gap)
    spoiled_segment: np.ndarray      # bool per segment: its census row is spoiled (quarantined at ingestion)
    roads: np.ndarray                # road name per run


def _labels(rng, options: dict, keys: np.ndarray) -> np.ndarray:
    """Map codes to one district-chosen label each (the district writes one spelling)."""
    chosen = {k: v[int(rng.integers(0, len(v)))] for k, v in options.items()}
    return np.array([chosen[k] for k in keys.tolist()], dtype=object)


def _road_names(rng, net: Network) -> np.ndarray:
    n_runs = int(net.run.max()) + 1
    stems = rng.integers(0, len(ROAD_STEMS), n_runs)
    suffix = rng.integers(0, len(ROAD_SUFFIXES), n_runs)
    park = rng.random(n_runs) < 0.5
    names = np.array([("经" if p else "纬") + str(1 + (i % 12)) + "路" if ind else ROAD_STEMS[s] + ROAD_SUFFIXES[f]
                      for i, (s, f, p, ind) in enumerate(zip(stems, suffix, park, _run_industrial(net, n_runs)))],
                     dtype=object)
    return names


def _run_industrial(net: Network, n_runs: int) -> np.ndarray:
    out = np.zeros(n_runs, dtype=bool)
    out[net.run[net.seg_node]] = net.industrial
    return out


def write_census(ctx: Context, net: Network) -> Census:
    d = net.district
    code = d.code
    rng = ctx.rng("census", code)
    n, m = net.n_nodes, net.n_segments
    node_ids = np.array([f"WS{code}{i + 1:06d}" for i in range(n)], dtype=object)
    seg_ids = np.array([f"GD{code}{k + 1:06d}" for k in range(m)], dtype=object)
    roads = _road_names(rng, net)

    # census gaps: ~0.3% of ordinary manholes never surveyed
    ordinary = np.flatnonzero((net.parent >= 0) & (net.node_type != "泵站"))
    n_gap = int(round(0.003 * n)) if n >= 100 else (1 if n >= 30 else 0)
    missing = np.zeros(n, dtype=bool)
    missing[rng.choice(ordinary, size=min(n_gap, len(ordinary)), replace=False)] = True
    absent = _network_gaps(ctx.rng("census", code, "gaps"), net, missing)

    shapefile = d.census_container == "shapefile"
    crs = d.census_crs
    if crs == "EPSG:4490":
        gx, gy = ctx.projector.to_lonlat(net.x, net.y)
        decimals = 8
    else:
        gx, gy = net.x, net.y
        decimals = 3
    crs_in_file = crs if (d.crs_member or shapefile) else None

    direct = _direct_discharges(ctx.rng("census", code, "direct"), net, missing, absent)
    spoiled = _write_pipes(ctx, net, rng, node_ids, seg_ids, roads, missing, absent, gx, gy, decimals, shapefile,
                           crs, crs_in_file, direct)
    _write_manholes(ctx, net, rng, node_ids, roads, missing, gx, gy, decimals, shapefile, crs, crs_in_file, direct)
    return Census(net=net, node_ids=node_ids, seg_ids=seg_ids, missing_manhole=missing, absent_segment=absent,
                  spoiled_segment=spoiled, roads=roads)


# Segments per recorded network gap: a handful per district at scale 1 (≈ 12,000 segments), one per
# district at scale 0.01.
SEGMENTS_PER_NETWORK_GAP = 3000
# Segments a gap may cut off (itself included): small, so the stranded share stays a fraction of a percent.
GAP_UPSTREAM_SEGMENTS = (2, 4)


def _network_gaps(rng: np.random.Generator, net: Network, missing: np.ndarray) -> np.ndarray:
    """Segments the pipe census never recorded (普查漏测): mid-network links with a few segments
    upstream of them, between surveyed manholes, not next to a plant inlet and not next to each other
    (so every gap leaves a dead-end manhole that at least one census pipe still drains into)."""
    m = net.n_segments
    absent = np.zeros(m, dtype=bool)
    if m < 20:
        return absent
    up, down = net.seg_node, net.seg_down
    lo, hi = GAP_UPSTREAM_SEGMENTS
    ok = ((net.upstream >= lo) & (net.upstream <= hi) & (net.n_children[up] > 0) & (net.parent[down] >= 0)
          & ~missing[up] & ~missing[down])
    wanted = max(1, int(round(m / SEGMENTS_PER_NETWORK_GAP)))
    used: set[int] = set()
    for k in rng.permutation(np.flatnonzero(ok)):
        if int(up[k]) in used or int(down[k]) in used:
            continue
        absent[k] = True
        used.update((int(up[k]), int(down[k])))
        if absent.sum() >= wanted:
            break
    return absent


# Segments per direct discharge (直排口): one or two per district at scale 0.01, a few at scale 1.
SEGMENTS_PER_DIRECT_DISCHARGE = 4000


@dataclass
class DirectDischarges:
    """Overflow pipes from sewage manholes to river outfalls, written after the census rows."""
    source: np.ndarray        # node the pipe leaves (a sewage manhole with its own segment)
    segment: np.ndarray       # that node's own segment (the row the new pipe copies its labels from)
    dx: np.ndarray            # outfall offset from the source node, metres (EPSG:4549)
    dy: np.ndarray


def _direct_discharges(rng: np.random.Generator, net: Network, missing: np.ndarray,
                       absent: np.ndarray) -> DirectDischarges:
    m = net.n_segments
    up, down = net.seg_node, net.seg_down
    ok = ~missing[up] & ~missing[down] & ~absent & (net.node_type[up] != "泵站") & (net.parent[down] >= 0)
    # not next to a network gap, so the source node keeps its own way to the plant
    gap_ends = np.zeros(net.n_nodes, dtype=bool)
    gap_ends[up[absent]] = True
    gap_ends[down[absent]] = True
    ok &= ~gap_ends[up] & ~gap_ends[down]
    wanted = min(max(1, int(round(m / SEGMENTS_PER_DIRECT_DISCHARGE))), int(ok.sum()))
    pick = np.sort(rng.choice(np.flatnonzero(ok), size=wanted, replace=False)) if wanted else np.array([], int)
    angle = rng.uniform(0, 2 * np.pi, len(pick))
    dist = rng.uniform(20, 45, len(pick))
    return DirectDischarges(source=up[pick], segment=pick, dx=dist * np.cos(angle), dy=dist * np.sin(angle))


def _outfall_ids(code: str, direct: DirectDischarges) -> list[str]:
    return [f"PK{code}{i + 1:04d}" for i in range(len(direct.source))]


def _district_cells(rng, code: str, style: str, n: int) -> np.ndarray:
    """The district as the census writes it; half of 玉环's features come from the pre-2017 base
    map and say 玉环县 or 331021."""
    old = (code == "331083") & (rng.random(n) < 0.5)
    old_style = np.where(rng.random(n) < 0.5, "code", "name")
    return np.array([fmt_district(code, str(s) if o else style, bool(o)) for o, s in zip(old, old_style)],
                    dtype=object)


def _geometry_text(shapefile: bool, kind: str, coords: list[np.ndarray], decimals: int) -> np.ndarray:
    if not shapefile:
        arr = line_geometries(*coords, decimals) if kind == "line" else point_geometries(*coords, decimals)
    elif kind == "line":
        x1, y1, x2, y2 = (coord_text(c, decimals) for c in coords)
        arr = _concat(["LINESTRING (", x1, " ", y1, ", ", x2, " ", y2, ")"], len(coords[0]))
    else:
        x, y = (coord_text(c, decimals) for c in coords)
        arr = _concat(["POINT (", x, " ", y, ")"], len(coords[0]))
    return np.asarray(arr.to_pylist(), dtype=object)


def _write_pipes(ctx, net, rng, node_ids, seg_ids, roads, missing, absent, gx, gy, decimals, shapefile, crs,
                 crs_in_file, direct: DirectDischarges) -> np.ndarray:
    """Writes the district's pipe census; returns which segments' rows it spoiled."""
    d = net.district
    contract = ctx.contracts["census_pipes"]
    m = net.n_segments
    up, down = net.seg_node, net.seg_down

    columns = [c for c in PIPE_COLUMNS if c not in OPTIONAL_PIPE_COLUMNS or rng.random() < 0.6]
    if shapefile:
        headers = pick_headers(contract, columns, rng, canonical_share=0.2, fits=mess.shapefile_ok,
                               ascii_codes=rng.random() < 0.7)
    else:
        headers = pick_headers(contract, columns, rng, ascii_codes=rng.random() < 0.25)

    # unknown install years (older pipes more often), estimated data
    age = 2025 - net.year
    unknown_year = rng.random(m) < np.clip(0.01 + age / 600, 0, 0.15)
    estimated = unknown_year & (rng.random(m) < 0.6) | (rng.random(m) < 0.02)
    source = np.where(estimated, "estimated", np.where(rng.random(m) < 0.3, "as_built", "surveyed"))
    src_labels = {"estimated": ESTIMATED_LABELS, "as_built": ("竣工资料",), "surveyed": SURVEYED_LABELS}

    size_style = mess.PIPE_SIZE_STYLES[int(rng.integers(0, 4 if shapefile else 5))]
    styles = np.where(rng.random(m) < 0.85, size_style,
                      np.array(mess.PIPE_SIZE_STYLES[:4])[rng.integers(0, 4, m)])
    pipe_size = np.array([fmt_pipe_size(int(dn), int(w), int(h), s)
                          for dn, w, h, s in zip(net.diameter, net.box_w, net.box_h, styles)], dtype=object)
    year_as_text = shapefile or rng.random() < 0.3
    wide = rng.random(m) < (0.02 if year_as_text else 0.0)
    install_year = np.array([None if u else (mess.fullwidth(str(y)) if w else str(y)) if year_as_text else int(y)
                             for y, u, w in zip(net.year, unknown_year, wide)], dtype=object)
    missing_length = rng.random(m) < (0.08 if rng.random() < 0.5 else 0.0)
    # the surveyed length is the 3-D length along the pipe, a little longer than the plan length
    length = np.round(net.length * (1 + np.abs(rng.normal(0, 0.002, m))), 2)
    importance = np.select([net.level[up] == 0, (net.level[up] == 1) & (rng.random(m) < 0.2), net.level[up] == 1],
                           ["交通干道", "中心商业区", "其他机动车道"], "其他")
    soft = rng.random(m) < d.soft_soil
    soil = np.where(soft, np.where(rng.random(m) < 0.7, "淤泥质土", "淤泥"),
                    np.where(rng.random(m) < 0.03, "粉砂层", "一般土层"))
    owner = np.where(net.industrial, f"{d.short}工业园区管理委员会", f"{d.name}排水有限公司")
    reported = np.datetime64("2023-09-01") + rng.integers(0, 118, m).astype("timedelta64[D]")
    late = rng.random(m) < 0.1
    reported = np.where(late, reported + np.timedelta64(200, "D"), reported)
    date_style = mess.TEXT_DATE_STYLES[int(rng.integers(0, 4))]
    reported_cells = mess.date_cells(reported, rng, date_style, mess.TEXT_DATE_STYLES, other_share=0.03,
                                     fullwidth_share=0.01)
    district_style = ("name", "short", "code")[int(rng.integers(0, 3))]
    district_cells = _district_cells(rng, d.code, district_style, m)
    num = (lambda v: f"{v:.3f}") if shapefile else (lambda v: round(float(v), 3))

    cells = {
        "segment_id": seg_ids,
        "start_manhole_id": node_ids[up].copy(),
        "end_manhole_id": node_ids[down].copy(),
        "pipe_category": _labels(rng, CATEGORY_LABELS, net.category),
        "pipe_size": pipe_size,
        "section_shape": _labels(rng, SHAPE_LABELS, net.box_w > 0),
        "material": _labels(rng, MATERIAL_LABELS, net.material),
        "install_year": install_year,
        "start_invert_m": np.array([num(v) for v in net.start_invert], dtype=object),
        "end_invert_m": np.array([num(v) for v in net.end_invert], dtype=object),
        "length_m": np.array([None if ml else (f"{v:.2f}" if shapefile else float(v))
                              for v, ml in zip(length, missing_length)], dtype=object),
        "road_name": roads[net.run[up]],
        "scope": _labels(rng, SCOPE_LABELS, net.industrial),
        "district_code": district_cells,
        "owner_unit": owner.astype(object),
        "area_importance": importance.astype(object),
        "soil_type": soil.astype(object),
        "data_source": np.array([src_labels[s][int(k) % len(src_labels[s])]
                                 for s, k in zip(source, rng.integers(0, 2, m))], dtype=object),
        "reported_on": reported_cells,
    }
    x1, y1, x2, y2 = gx[up].copy(), gy[up].copy(), gx[down].copy(), gy[down].copy()

    # pipes draining into a network gap: their end manhole has no outflow in the census
    gap_ends = np.zeros(net.n_nodes, dtype=bool)
    gap_ends[up[absent]] = True
    into_gap = gap_ends[down] & ~absent

    # drawn against the flow: start and end (ids, inverts, vertices) swapped
    # (not the own segment of a direct discharge's source: drawn into the source, that segment would leave the
    # source draining only to the river, and nothing in the file could tell)
    candidates = np.flatnonzero(~missing[up] & ~missing[down] & ~absent & ~into_gap
                                & ~np.isin(np.arange(m), direct.segment))
    n_rev = int(round(0.002 * m)) if m >= 200 else (1 if m >= 50 else 0)
    reversed_rows = rng.choice(candidates, size=min(n_rev, len(candidates)), replace=False)
    for k in ("start_manhole_id", "start_invert_m"):
        other = k.replace("start", "end")
        a, b = cells[k][reversed_rows].copy(), cells[other][reversed_rows].copy()
        cells[k][reversed_rows], cells[other][reversed_rows] = b, a
    x1[reversed_rows], x2[reversed_rows] = x2[reversed_rows], x1[reversed_rows].copy()
    y1[reversed_rows], y2[reversed_rows] = y2[reversed_rows], y1[reversed_rows].copy()
    cells["geometry"] = _geometry_text(shapefile, "line", [x1, y1, x2, y2], decimals)

    # the census file holds every segment but the network gaps; ``row`` maps a segment to its sheet row
    kept = np.flatnonzero(~absent)
    row = np.full(m, -1)
    row[kept] = np.arange(len(kept))
    # direct discharges: the source segment's row with a new id, a DN300 sewage pipe to its outfall
    k = direct.segment
    extra = {name: values[k].copy() for name, values in cells.items()}
    n_direct = len(k)
    extra["segment_id"] = np.array([f"ZP{d.code}{i + 1:04d}" for i in range(n_direct)], dtype=object)
    extra["start_manhole_id"] = node_ids[direct.source].copy()
    extra["end_manhole_id"] = np.array(_outfall_ids(d.code, direct), dtype=object)
    extra["pipe_category"] = np.array([CATEGORY_LABELS["sewage"][0]] * n_direct, dtype=object)
    extra["pipe_size"] = np.array([fmt_pipe_size(300, 0, 0, size_style)] * n_direct, dtype=object)
    if "section_shape" in extra:
        extra["section_shape"] = np.array([SHAPE_LABELS[False][0]] * n_direct, dtype=object)
    overflow = net.bottom[direct.source] + 0.4          # the overflow leaves above the manhole's bottom
    extra["start_invert_m"] = np.array([num(v) for v in overflow], dtype=object)
    extra["end_invert_m"] = np.array([num(v) for v in overflow - 0.3], dtype=object)
    length_d = np.hypot(direct.dx, direct.dy)
    extra["length_m"] = np.array([f"{v:.2f}" if shapefile else round(float(v), 2) for v in length_d], dtype=object)
    ox, oy = _outfall_xy(ctx, net, direct, d.census_crs)
    sx, sy = gx[direct.source], gy[direct.source]
    extra["geometry"] = _geometry_text(shapefile, "line", [sx, sy, ox, oy], decimals)
    sheet = Sheet(columns + ["geometry"], {name: np.concatenate([values[kept], extra[name]])
                                           for name, values in cells.items()})
    for i in range(n_direct):
        sheet.anomaly(len(kept) + i, "direct_discharge", None)
    for k in reversed_rows:
        sheet.anomaly(row[k], "against_flow", None)
    for k in np.flatnonzero(missing[up] & ~absent):
        sheet.anomaly(row[k], "orphan_reference", "start_manhole_id")
    for k in np.flatnonzero(missing[down] & ~absent):
        sheet.anomaly(row[k], "orphan_reference", "end_manhole_id")
    for k in np.flatnonzero(into_gap):
        sheet.anomaly(row[k], "network_gap", "end_manhole_id")
    # A quarantined segment cuts the tracing of everything upstream of it: spoil only leaves, and
    # never a segment into a plant inlet.
    sheet.unspoilable[:] = np.concatenate([((net.n_children[up] > 0) | (net.parent[down] < 0))[kept],
                                           np.ones(n_direct, dtype=bool)])

    col = contract.column
    menu = [mess.spoil_required("pipe_category"), mess.spoil_required("scope"),
            mess.spoil_required("district_code"),
            mess.spoil_type(col("install_year")), mess.spoil_type(col("start_invert_m")),
            mess.spoil_type(col("pipe_size")),
            mess.spoil_range(col("install_year"), as_text=shapefile),
            mess.spoil_range(col("length_m"), as_text=shapefile),
            mess.spoil_range(col("pipe_size")), mess.spoil_range(col("end_invert_m"), as_text=shapefile),
            mess.spoil_enum(col("pipe_category")), mess.spoil_enum(col("material")),
            mess.spoil_enum(col("scope")),
            Spoil("geometry", "geometry", lambda r, s, i: None)]
    if "section_shape" in columns:
        menu.append(mess.spoil_enum(col("section_shape")))
    ctx.plan("census_pipes", menu).apply(sheet, ctx.rng("census_pipes", "spoil", d.code), blanks=False)

    _write_geo(ctx, "census_pipes", f"{d.code}_{d.name}_管段", shapefile, crs, crs_in_file, headers, sheet)
    spoiled = np.zeros(m, dtype=bool)
    spoiled[kept[sorted(sheet.reasons)]] = True
    return spoiled


def _outfall_xy(ctx, net, direct: DirectDischarges, crs: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = net.x[direct.source] + direct.dx, net.y[direct.source] + direct.dy
    if crs == "EPSG:4490":
        return ctx.projector.to_lonlat(x, y)
    return x, y


def _write_manholes(ctx, net, rng, node_ids, roads, missing, gx, gy, decimals, shapefile, crs, crs_in_file,
                    direct: DirectDischarges):
    d = net.district
    contract = ctx.contracts["census_manholes"]
    keep = np.flatnonzero(~missing)
    if shapefile:
        headers = pick_headers(contract, MANHOLE_COLUMNS, rng, canonical_share=0.2, fits=mess.shapefile_ok,
                               ascii_codes=rng.random() < 0.7)
    else:
        headers = pick_headers(contract, MANHOLE_COLUMNS, rng, ascii_codes=rng.random() < 0.25)
    num = (lambda v: f"{v:.3f}") if shapefile else (lambda v: round(float(v), 3))
    depth = net.ground - net.bottom
    node_road = roads[np.maximum(net.run, 0)]
    roots = net.parent < 0
    node_road = np.where(roots, f"{d.short}污水处理厂厂区", node_road)
    district_style = ("name", "short", "code")[int(rng.integers(0, 3))]
    cells = {
        "manhole_id": node_ids[keep],
        "manhole_type": net.node_type[keep],
        "ground_elevation_m": np.array([num(v) for v in net.ground[keep]], dtype=object),
        "depth_m": np.array([num(v) for v in depth[keep]], dtype=object),
        "road_name": node_road[keep].astype(object),
        "district_code": _district_cells(rng, d.code, district_style, len(keep)),
        "geometry": _geometry_text(shapefile, "point", [gx[keep], gy[keep]], decimals),
    }
    # the direct discharges' river outfalls (排放口), a metre below the source manhole's ground
    src = direct.source
    n_out = len(src)
    ox, oy = _outfall_xy(ctx, net, direct, crs)
    outfalls = {
        "manhole_id": np.array(_outfall_ids(d.code, direct), dtype=object),
        "manhole_type": np.array(["排放口"] * n_out, dtype=object),
        "ground_elevation_m": np.array([num(v) for v in net.ground[src] - 1.0], dtype=object),
        "depth_m": np.array([num(v) for v in np.maximum(net.ground[src] - 1.0 - net.bottom[src] + 0.1, 0.5)],
                            dtype=object),
        "road_name": node_road[src].astype(object),
        "district_code": _district_cells(rng, d.code, district_style, n_out),
        "geometry": _geometry_text(shapefile, "point", [ox, oy], decimals),
    }
    cells = {name: np.concatenate([np.asarray(values, dtype=object), outfalls[name]]) for name, values in cells.items()}
    sheet = Sheet(MANHOLE_COLUMNS + ["geometry"], cells)
    sheet.locked[np.flatnonzero(roots[keep])] = True   # plant inlets stay clean: the plant registry points at them
    sheet.locked[len(keep):] = True                     # and so do the outfalls the direct discharges end at
    col = contract.column
    menu = [mess.spoil_required("district_code"), mess.spoil_type(col("ground_elevation_m")),
            mess.spoil_type(col("depth_m")), mess.spoil_range(col("depth_m"), as_text=shapefile),
            mess.spoil_range(col("ground_elevation_m"), as_text=shapefile),
            mess.spoil_enum(col("manhole_type")), Spoil("geometry", "geometry", lambda r, s, i: None)]
    ctx.plan("census_manholes", menu).apply(sheet, ctx.rng("census_manholes", "spoil", d.code), blanks=False)
    _write_geo(ctx, "census_manholes", f"{d.code}_{d.name}_检查井", shapefile, crs, crs_in_file, headers, sheet)


def _write_geo(ctx, feed, stem, shapefile, crs, crs_in_file, headers, sheet) -> None:
    if shapefile:
        path, truth = ctx.new_file(feed, f"{stem}.zip", "shapefile_zip", encoding="utf-8", crs=crs)
        sheet.finish(truth)
        write_shapefile_zip(path, stem, crs, headers, sheet, dt.date(2023, 12, 28), con=ctx.projector.con)
    else:
        path, truth = ctx.new_file(feed, f"{stem}.geojson", "geojson", encoding="utf-8", crs=crs)
        sheet.finish(truth)
        write_geojson(path, stem, crs_in_file, headers, sheet)
    ctx.delivered(path, dt.date(2024, 1, 10))



