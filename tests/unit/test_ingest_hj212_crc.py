"""The loader's vectorised HJ 212 CRC agrees with the shared definition (pipelines.hj212)."""
import random

import pyarrow as pa

from pipelines.hj212 import crc_hj212, crc_many
from pipelines.ingest.readers.hj212 import crc_segments

VECTOR = ("##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;"
          "Flag=5;CP=&&RtdInterval=30&&1C80")


def test_standard_vector():
    assert crc_segments(pa.array([VECTOR]))[0] == 0x1C80 == crc_hj212(VECTOR[6:-4].encode())


def test_agrees_with_the_shared_crc_on_random_segments_of_any_length():
    rng = random.Random(7)
    segments = [bytes(rng.randrange(32, 127) for _ in range(rng.randrange(0, 400))) for _ in range(3000)]
    lines = [b"##0000" + s + b"FFFF" for s in segments] + [b"##01", b""]     # last two: too short
    got = crc_segments(pa.array(lines, type=pa.binary()))
    assert [int(x) for x in got] == [int(x) for x in crc_many(segments)] + [-1, -1]


def test_works_on_a_sliced_string_array():
    lines = pa.array(["x" * 20, VECTOR, VECTOR + "junk"]).slice(1, 1)
    assert list(crc_segments(lines)) == [0x1C80]


def test_integrity_flags_against_a_regex_and_the_shared_crc():
    """frame/length/CRC flags of the vectorised check equal a plain per-line oracle on mutated packets."""
    import re

    from pipelines.hj212 import frame
    from pipelines.ingest.readers.hj212 import integrity

    rng = random.Random(11)
    frame_re = re.compile(r"##\d{4}[\x20-\x7E]*&&[0-9A-Fa-f]{4}")
    lines = []
    for i in range(3000):
        segment = (f"QN={i:017d};ST=32;CN=2061;PW=123456;MN=3310020000000{i % 10};Flag=4;"
                   f"CP=&&DataTime=20250101{i % 24:02d}0000;w01018-Avg={rng.uniform(5, 60):.1f},w01018-Flag=N&&")
        line = frame(segment).rstrip("\r\n")
        kind = rng.randrange(8)
        if kind == 1:
            line = line[: rng.randrange(0, len(line))]                      # truncated
        elif kind == 2:
            line = line[:2] + f"{rng.randrange(10000):04d}" + line[6:]      # length field
        elif kind == 3:
            pos = rng.randrange(6, len(line) - 4)
            line = line[:pos] + chr(rng.randrange(32, 127)) + line[pos + 1:]  # a changed byte
        elif kind == 4:
            line = line[:-4] + line[-4:].lower()                             # lower-case hex is fine
        elif kind == 5:
            pos = rng.randrange(len(line))
            line = line[:pos] + "\x07" + line[pos:]                            # control character
        lines.append(line)
    frame_ok, length_ok, crc_ok = integrity(pa.array(lines))
    for line, f, n, c in zip(lines, frame_ok, length_ok, crc_ok):
        expect_frame = bool(frame_re.fullmatch(line))
        assert f == expect_frame, line
        if expect_frame:
            segment = line[6:-4]
            assert n == (len(segment.encode()) == int(line[2:6])), line
            assert c == (crc_hj212(segment.encode()) == int(line[-4:], 16)), line
        else:
            assert not n and not c


def test_a_trailing_carriage_return_is_not_part_of_the_packet():
    from pipelines.ingest.readers.hj212 import integrity

    flags = integrity(pa.array([VECTOR, VECTOR + "\r", VECTOR + "\r\r"]))
    assert [list(map(bool, f)) for f in flags] == [[True, True, False]] * 3
    assert list(crc_segments(pa.array([VECTOR + "\r"]))) == [0x1C80]
