"""The streaming HJ 212 reader (issue 13) against a plain per-line oracle written with Python's ``re`` and
``str.split``: record numbers, packet text, and every field of every good packet.

Oracle, independent of the reader: the log's lines are ``data.split(b"\\n")`` (the text after the last line feed is
a line too); a line is blank when it is shorter than 256 bytes and only spaces, tabs and CRs; records are the
other lines, numbered 1, 2, … in file order (``_source_row``) with their line number (``_phys``); the packet text
is the line less its trailing CRs; a good packet's field KEY is ``re.search("KEY=([^;,&]*)", segment)`` (the
first ``KEY=`` anywhere in the data segment, up to the next separator), NULL when absent or empty. The packets
are mutated so that tokens and that substring search disagree (``XQN=``, ``PW=QN=5``, a key ending in a factor
key, two ``=`` in a piece), repeat or drop keys, and the file has blank lines, CR runs, a CRLF/LF mix and no
final line break. Blocks of 97 bytes cut lines anywhere a line feed allows; 1 MiB is the default.
"""
from __future__ import annotations

import random
import re

import pytest

from pipelines import duck
from pipelines.contracts import load_contracts
from pipelines.hj212 import crc_hj212, frame
from pipelines.ingest.readers import hj212

CONTRACT = load_contracts()["plant_online"]
KEYS = {**{col: key for col, key in hj212.HEADER_FIELDS.items()},
        **{f"{f['name']}_{part.lower()}": f"{code}-{part}" for code, f in CONTRACT.factors.items()
           for part in ("Avg", "Flag")}}


def _log(seed: int) -> bytes:
    rng = random.Random(seed)
    lines = []
    for i in range(800):
        seg = (f"QN={i:017d};ST=32;CN=2061;PW=123456;MN=3310020000000{i % 10};Flag=4;CP=&&DataTime=20250101"
               f"{i % 24:02d}0000;w01018-Avg={rng.uniform(5, 60):.1f},w01018-Flag=N;w21003-Avg=1.5,w21003-Flag=N&&")
        twist = rng.randrange(12)
        if twist == 1:
            seg = seg.replace("QN=", "XQN=1;QN=", 1)              # a key ending in QN, before QN
        elif twist == 2:
            seg = seg.replace("PW=123456", "PW=QN=5")              # QN= inside a value, before QN
        elif twist == 3:
            seg = seg.replace("w01018-Flag=N", "w01018-Flag=")     # an empty value
        elif twist == 4:
            seg = seg.replace("CN=2061;", "")                     # a key missing
        elif twist == 5:
            seg = seg.replace("ST=32", "ST=32;ST=33")              # a key twice: the first counts
        elif twist == 6:
            seg = seg.replace("w21003-Avg", "Aw21003-Avg")         # a factor key inside a longer key
        elif twist == 7:
            seg = seg.replace("w01018-Flag=N", "w01018-Flag=N=")   # two `=` in a piece
        line = frame(seg).rstrip("\r\n").encode()
        spoil = rng.randrange(10)
        if spoil == 1:
            line = line[: rng.randrange(len(line))]                # truncated
        elif spoil == 2:
            line += b"\r\r"                                         # a CR run: not a packet, text without it
        elif spoil == 3:
            lines.append(b" \t ")                                    # blank lines between packets
        elif spoil == 4:
            lines.append(b" " * 300)                                 # spaces, but too long to be blank
        lines.append(line)
    return b"\r\n".join(lines[:400]) + b"\r\n" + b"\n".join(lines[400:]) + b"\n\n \r"


def _oracle(data: bytes) -> list[tuple]:
    out, n = [], 0
    for phys, raw in enumerate(data.split(b"\n"), start=1):
        if len(raw) < 256 and raw.strip(b" \t\r") == b"":
            continue
        n += 1
        text = raw.rstrip(b"\r").decode()
        body = raw[:-1] if raw.endswith(b"\r") else raw
        good = bool(re.fullmatch(rb"##\d{4}[\x20-\x7E]*&&[0-9A-Fa-f]{4}", body)) and \
            int(body[2:6]) == len(body) - 10 and crc_hj212(body[6:-4]) == int(body[-4:], 16)
        fields = {}
        if good:
            seg = text[6:-4]
            for col, key in KEYS.items():
                m = re.search(re.escape(key) + "=([^;,&]*)", seg)
                fields[col] = (m.group(1) or None) if m else None
        out.append((n, phys, text, good, fields))
    return out


@pytest.mark.parametrize("block", [97, 1 << 20])
@pytest.mark.parametrize("seed", [1, 2])
def test_records_and_fields_match_a_per_line_oracle(tmp_path, monkeypatch, block, seed):
    monkeypatch.setattr(hj212, "BLOCK_BYTES", block)
    data = _log(seed)
    path = tmp_path / "a.log"
    path.write_bytes(data)
    con = duck.connect(None, extensions=())
    group, [one] = hj212.read_many(con, CONTRACT, [path], tmp_path, "_t")
    cols = list(KEYS)
    got = con.execute(f"SELECT _source_row, _phys, line, _frame_ok AND _len_ok AND _crc_ok, {', '.join(cols)} "
                      f"FROM {group.table} ORDER BY _source_row").fetchall()
    expected = _oracle(data)
    assert one.rows_read == len(expected) == len(got)
    odd = 0
    for row, (n, phys, text, good, fields) in zip(got, expected):
        assert row[:4] == (n, phys, text, good), (row[:4], (n, phys, text, good))
        if good:
            assert dict(zip(cols, row[4:])) == fields, text
            odd += any(t in text for t in ("XQN=", "PW=QN=", "Aw21003", "Flag=N="))
    assert odd > 25          # the twisted packets were there and good
