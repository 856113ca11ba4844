"""Tiny helpers written from DOMAIN.md §4 and §5 (credit-code check char, HJ 212 CRC).

Run directly to check them against the test vectors quoted in DOMAIN.md.
"""
ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def credit_check_char(first17: str) -> str:
    s = sum(ALPHA.index(c) * w for c, w in zip(first17, WEIGHTS))
    return ALPHA[(31 - s % 31) % 31]


def credit_ok(code: str) -> bool:
    if len(code) != 18 or any(c not in ALPHA for c in code):
        return False
    return credit_check_char(code[:17]) == code[17]


def hj212_crc(data: bytes) -> str:
    crc = 0xFFFF
    for b in data:
        crc = (crc >> 8) ^ b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return "%04X" % crc


def hj212_packet(segment: str) -> str:
    seg = segment.encode("ascii")
    return "##%04d%s%s" % (len(seg), segment, hj212_crc(seg))


def hj212_parse_ok(line: str) -> bool:
    line = line.rstrip("\r\n")
    if not line.startswith("##") or len(line) < 10:
        return False
    try:
        n = int(line[2:6])
    except ValueError:
        return False
    seg = line[6:6 + n]
    crc = line[6 + n:]
    return len(seg) == n and len(crc) == 4 and hj212_crc(seg.encode()) == crc.upper()


if __name__ == "__main__":
    for c in ["91130200699229617X", "91350200776049653A", "913502000728319549"]:
        assert credit_ok(c), c
    vec = "##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80"
    assert hj212_parse_ok(vec)
    seg = vec[6:-4]
    assert len(seg) == 101 and hj212_crc(seg.encode()) == "1C80"
    print("credit-code and HJ 212 CRC test vectors pass")
