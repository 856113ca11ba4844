"""One large single file per format, written in the bureaus' formats (DOMAIN.md) with distinct keys:

- ``plant_lab`` CSV, 2,000,000 rows: 1,000 plants × 1,000 days × influent/effluent, six measurements each;
- ``inspections`` xlsx, 200,000 rows: one batch of CCTV defects over 50,000 segments;
- ``plant_online`` HJ 212-2017 log, 2,000,000 packets: 115 monitoring points × hourly packets (CN=2061),
  CRLF-terminated, every packet framed with its length and CRC.

About 0.5% of the records are spoiled the way real files are (an unreadable number, a code the contract does
not know, a packet whose CRC does not match), so quarantine and findings do real work; the rest are clean.
Values are drawn from a seeded hash of the row number (DuckDB ``hash``), so the same ``rows`` give the same
bytes. The files are written by DuckDB (``COPY``) and numpy (HJ 212 CRCs, ``pipelines.hj212.crc_spans``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from pipelines import duck
from pipelines.hj212 import crc_spans
from pipelines.ingest.normalise import sql_str

LARGE = {"plant_lab": 2_000_000, "inspections": 200_000, "plant_online": 2_000_000}
NAMES = {"plant_lab": "P_big_化验_大文件.csv", "inspections": "JC_big_管道检测_大文件.xlsx",
         "plant_online": "TZ_big_在线监测.log"}


def _u(i: str, salt: int) -> str:
    """A uniform number in [0, 1) from the row number (deterministic)."""
    return f"((hash({i}, {salt}) % 1000003)::DOUBLE / 1000003)"


def plant_lab_csv(path: Path, rows: int) -> Path:
    con = duck.connect(None, extensions=())
    try:
        days = 1000
        con.execute(f"""
            COPY (
              SELECT printf('P%08d', 33000000 + (i // 2) // {days}) AS "厂站编号",
                     strftime(DATE '2022-01-01' + ((i // 2) % {days})::INTEGER, '%Y-%m-%d') AS "采样日期",
                     CASE WHEN i % 2 = 0 THEN '进水' ELSE '出水' END AS "采样点",
                     CASE WHEN i % 997 = 5 THEN '未测' ELSE printf('%.1f', 5 + {_u('i', 1)} * 200) END AS "BOD5",
                     printf('%.1f', 20 + {_u('i', 2)} * 400) AS "COD",
                     printf('%.0f', 4 + {_u('i', 3)} * 200) AS "SS",
                     CASE WHEN i % 401 = 7 THEN '<0.05' ELSE printf('%.2f', {_u('i', 4)} * 40) END AS "氨氮",
                     printf('%.2f', 1 + {_u('i', 5)} * 50) AS "总氮",
                     printf('%.3f', {_u('i', 6)} * 6) AS "总磷"
              FROM range({rows}) t(i)
            ) TO {sql_str(str(path))} (FORMAT csv, HEADER true)
        """)
    finally:
        con.close()
    return path


GRADES = {"PL": 4, "BX": 4, "FS": 3, "CK": 4, "QF": 4, "TJ": 4, "AJ": 4, "SG": 4}


def inspections_xlsx(path: Path, rows: int) -> Path:
    codes = list(GRADES)
    con = duck.connect(None, extensions=("excel",))
    try:
        con.execute(f"""
            COPY (
              SELECT 'JC331002-BIG-01' AS "检测批次",
                     printf('YS331002-%06d', i // 4) AS "管段编号",
                     strftime(DATE '2024-03-01' + ((i // 400) % 200)::INTEGER, '%Y-%m-%d') AS "检测日期",
                     'CCTV' AS "检测方法",
                     printf('%.1f', 20 + (hash(i // 4, 9) % 600) / 10.0) AS "检测长度(m)",
                     CASE WHEN i % 509 = 3 THEN 'XX' ELSE
                          {sql_str(codes[0])} END AS "缺陷代码",
                     '1' AS "缺陷等级",
                     printf('%.1f', (i % 4) * 5 + {_u('i', 7)} * 4) AS "缺陷位置(m)",
                     printf('%.1f', 0.1 + {_u('i', 8)}) AS "缺陷长度(m)"
              FROM range({rows}) t(i)
            ) TO {sql_str(str(path))} (FORMAT xlsx, HEADER true)
        """)
    finally:
        con.close()
    return path


def hj212_log(path: Path, packets: int) -> Path:
    """Hourly CN=2061 packets of 115 monitoring points, in send order (hour by hour, point by point)."""
    points = 115
    con = duck.connect(None, extensions=())
    try:
        segments = con.execute(f"""
            SELECT printf('QN=%s;ST=32;CN=2061;PW=123456;MN=TZ%08dWS%03d;Flag=4;CP=&&DataTime=%s;'
                          || 'w00000-Avg=%.2f,w00000-Flag=N;w01001-Avg=%.2f,w01001-Flag=N;'
                          || 'w01018-Avg=%.1f,w01018-Flag=N;w21003-Avg=%.3f,w21003-Flag=N;'
                          || 'w21001-Avg=%.2f,w21001-Flag=N;w21011-Avg=%.3f,w21011-Flag=%s&&',
                          strftime(ts, '%Y%m%d%H%M%S') || '123', 33100200 + (i % {points}) // 2,
                          1 + (i % {points}) % 2, strftime(ts, '%Y%m%d%H%M%S'),
                          800 + {_u('i', 1)} * 900, 6.5 + {_u('i', 2)}, 20 + {_u('i', 3)} * 250,
                          {_u('i', 4)} * 30, 5 + {_u('i', 5)} * 30, {_u('i', 6)} * 4,
                          CASE WHEN i % 293 = 11 THEN 'D' ELSE 'N' END) AS seg
            FROM (SELECT i, TIMESTAMP '2021-01-01 00:00:00' + INTERVAL 1 HOUR * (i // {points}) AS ts
                  FROM range({packets}) t(i))
            ORDER BY i
        """).to_arrow_table().column(0).combine_chunks()
    finally:
        con.close()
    offsets = np.frombuffer(segments.buffers()[1], dtype=np.int32)[: len(segments) + 1].astype(np.int64)
    data = np.frombuffer(segments.buffers()[2], dtype=np.uint8)
    lengths = np.diff(offsets)
    crc = crc_spans(data, offsets[:-1], lengths)
    crc[11::1009] ^= 0x5A5A               # a packet in a thousand garbled in transit: its CRC no longer matches
    with open(path, "wb") as fh:
        step = 100_000
        for lo in range(0, len(segments), step):
            chunk = segments.slice(lo, step).to_pylist()
            fh.write("".join(f"##{n:04d}{s}{c:04X}\r\n" for s, n, c in
                             zip(chunk, lengths[lo:lo + step].tolist(), crc[lo:lo + step].tolist())).encode("ascii"))
    return path


def write_large(folder: Path, feed: str, rows: int | None = None) -> Path:
    """The large file of ``feed`` (LARGE rows unless given) in ``folder``, written once and reused."""
    rows = rows or LARGE[feed]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{rows}_{NAMES[feed]}"
    if path.exists():
        return path
    tmp = path.with_name("." + path.name + ".part")
    writer = {"plant_lab": plant_lab_csv, "inspections": inspections_xlsx, "plant_online": hj212_log}[feed]
    writer(tmp.with_suffix(path.suffix) if feed == "inspections" else tmp, rows)
    if feed == "inspections":
        tmp = tmp.with_suffix(path.suffix)
    tmp.rename(path)
    return path
