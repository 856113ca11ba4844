"""Writes census_pipes/黄岩区_管段普查_2024.zip: a zipped ESRI Shapefile in EPSG:4549
(CGCS2000 3-degree GK CM 120E, easting/northing in metres), with the pinyin-initial
field names (<=10 bytes) that Chinese GIS clerks use for DBF files, GBK-encoded DBF + .cpg.

The rows are hand-written below. Easting/northing are the hand-drawn network of
network.py (HY) transformed once with DuckDB spatial ST_Transform(EPSG:4490 -> EPSG:4549,
always_xy) and rounded to the millimetre; CD is the planar length of that line.
No 地区重要性 / 土质 columns (optional in DOMAIN.md).
"""
import os, sys, tempfile, zipfile, shutil
import duckdb, duckdb_extensions

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "census_pipes", "黄岩区_管段普查_2024.zip")

P = {  # manhole: (easting, northing) EPSG:4549
    "HY-W-001": (623189.723, 3171127.327), "HY-W-002": (623277.723, 3171128.255),
    "HY-W-003": (623365.841, 3171118.100), "HY-W-005": (623363.851, 3171306.536),
    "HY-W-006": (623364.787, 3171217.860), "HY-W-010": (623454.427, 3171063.607),
    "HY-W-013": (623543.014, 3171009.115), "HY-W-021": (623452.553, 3171240.959),
    "HY-W-022": (623453.490, 3171152.283), "HY-Y-001": (623189.372, 3171160.580),
    "HY-Y-002": (623277.372, 3171161.509),
}
# GDBH 管段编号, QDJH 起点井号, ZDJH 终点井号, GDLB 管道类别, GJ 管径, CZ 材质, MSNF 埋设年份,
# QDGDBG / ZDGDBG 起点/终点管底标高, CD 长度, SZDL 所在道路, QYLX 区域类型, QX 区县,
# QSDW 权属单位, SJLY 数据来源, TBRQ 填报日期
ROWS = [
    ("HY-WS-01", "HY-W-001", "HY-W-002", "污水", "400", "钢筋砼", "2009", 3.20, 3.05, 88.00, "劳动北路", "建成区", "黄岩区", "黄岩区排水管理所", "现场测绘", "20240315"),
    ("HY-WS-02", "HY-W-002", "HY-W-003", "污水", "400", "钢筋砼", "2009", 3.03, 2.80, 88.70, "劳动北路", "建成区", "黄岩区", "黄岩区排水管理所", "现场测绘", "20240315"),
    ("HY-WS-03", "HY-W-005", "HY-W-006", "污水", "300", "PE", "2016", 3.50, 3.27, 88.68, "东城路", "建成区", "黄岩区", "黄岩区排水管理所", "物探", "20240315"),
    ("HY-WS-04", "HY-W-006", "HY-W-003", "污水", "300", "PE", "2016", 3.25, 2.95, 99.77, "东城路", "建成区", "黄岩区", "黄岩区排水管理所", "物探", "20240315"),
    ("HY-WS-05", "HY-W-003", "HY-W-010", "污水", "600", "钢筋砼", "", 2.75, 2.45, 104.00, "东城路", "建成区", "黄岩区", "黄岩区排水管理所", "人工估计", "20240315"),
    ("HY-WS-06", "HY-W-010", "HY-W-013", "污水", "800", "钢筋砼", "2001", 2.40, 1.95, 104.00, "环城东路", "建成区", "黄岩区", "黄岩区排水管理所", "竣工图", "20240315"),
    ("HY-WS-07", "HY-W-021", "HY-W-022", "污水", "500", "钢筋砼", "2018", 3.70, 3.45, 88.68, "北院大道", "工业园区", "331003", "黄岩经济开发区管委会", "竣工图", "20240318"),
    ("HY-WS-08", "HY-W-022", "HY-W-010", "污水", "500", "钢筋砼", "2018", 3.40, 3.10, 88.68, "北院大道", "工业园区", "331003", "黄岩经济开发区管委会", "竣工图", "20240318"),
    ("HY-YS-01", "HY-Y-001", "HY-Y-002", "雨水", "800", "钢筋砼", "2009", 3.70, 3.55, 88.00, "劳动北路", "建成区", "黄岩区", "黄岩区排水管理所", "现场测绘", "20240315"),
    # a stub the field crew drew but never numbered: no GDBH, no end manhole
    ("", "HY-W-005", "", "污水", "300", "PE", "", 3.50, None, 35.00, "东城路", "建成区", "黄岩区", "黄岩区排水管理所", "物探", "20240315"),
]
STUB_END = (623398.900, 3171306.900)


def wkt(r):
    a, b = P[r[1]], P.get(r[2], STUB_END)
    return "LINESTRING (%.3f %.3f, %.3f %.3f)" % (a + b)


def main():
    duckdb_extensions.import_extension("spatial")
    con = duckdb.connect()
    con.execute("LOAD spatial")
    con.execute("""create table t (GDBH varchar, QDJH varchar, ZDJH varchar, GDLB varchar, GJ varchar,
        CZ varchar, MSNF varchar, QDGDBG double, ZDGDBG double, CD double, SZDL varchar, QYLX varchar,
        QX varchar, QSDW varchar, SJLY varchar, TBRQ varchar, geom geometry)""")
    for r in ROWS:
        con.execute("insert into t values (" + ",".join(["?"] * 16) + ", ST_GeomFromText(?))", list(r) + [wkt(r)])
    tmp = tempfile.mkdtemp()
    shp = os.path.join(tmp, "HY_GD_2024.shp")
    con.execute(f"""copy t to '{shp}' with (format gdal, driver 'ESRI Shapefile', srs 'EPSG:4549',
        layer_creation_options 'ENCODING=UTF-8')""")
    if os.path.exists(OUT):
        os.remove(OUT)
    with zipfile.ZipFile(OUT, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(os.listdir(tmp)):
            z.write(os.path.join(tmp, f), "黄岩区管段/" + f)
    print(OUT, sorted(os.listdir(tmp)))
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
