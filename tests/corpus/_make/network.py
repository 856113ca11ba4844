"""Coordinates of the hand-drawn Jiaojiang (EPSG:4490) and Huangyan networks, and helpers
to print geodesic lengths (Vincenty on the CGCS2000 ellipsoid) and EPSG:4549 coordinates.
Used only to fill in the 长度 values and the easting/northing that a surveyor's software would
have written; the census files themselves are written by hand."""
import math

A = 6378137.0
F = 1 / 298.257222101
B = A * (1 - F)

JJ = {  # id: (lon, lat)
    "JJ-W-001": (121.43000, 28.68000), "JJ-W-002": (121.43100, 28.68002),
    "JJ-W-003": (121.43200, 28.68004), "JJ-W-004": (121.43300, 28.68006),
    "JJ-W-005": (121.43400, 28.68008), "JJ-W-006": (121.43500, 28.68015),
    "JJ-B-01": (121.43600, 28.68020), "JJ-W-007": (121.43700, 28.68060),
    "JJ-W-100": (121.43800, 28.68100),
    "JJ-W-011": (121.43200, 28.68180), "JJ-W-012": (121.43202, 28.68090),
    "JJ-W-021": (121.43400, 28.67840), "JJ-W-022": (121.43402, 28.67920),
    "JJ-W-031": (121.43700, 28.67900), "JJ-W-032": (121.43700, 28.67980),
    "JJ-Y-001": (121.43000, 28.67970), "JJ-Y-002": (121.43100, 28.67972),
    "JJ-Y-PK01": (121.43105, 28.67900), "JJ-Y-003": (121.43250, 28.68140),
    "JJ-Y-TX01": (121.43290, 28.68160),
    "JJ-W-041": (121.43450, 28.67850),
}
JJ_VERTEX_011 = (121.43650, 28.68040)  # bend of the pumped main JJ-B-01 -> JJ-W-007
HY = {
    "HY-W-001": (121.26000, 28.65000), "HY-W-002": (121.26090, 28.65000),
    "HY-W-003": (121.26180, 28.64990), "HY-W-005": (121.26180, 28.65160),
    "HY-W-006": (121.26180, 28.65080), "HY-W-010": (121.26270, 28.64940),
    "HY-W-013": (121.26360, 28.64890), "HY-W-021": (121.26270, 28.65100),
    "HY-W-022": (121.26270, 28.65020), "HY-Y-001": (121.26000, 28.65030),
    "HY-Y-002": (121.26090, 28.65030),
}


def vincenty(p1, p2):
    (L1, phi1), (L2, phi2) = p1, p2
    U1 = math.atan((1 - F) * math.tan(math.radians(phi1)))
    U2 = math.atan((1 - F) * math.tan(math.radians(phi2)))
    L = math.radians(L2 - L1)
    lam = L
    for _ in range(200):
        sl, cl = math.sin(lam), math.cos(lam)
        ss = math.hypot(math.cos(U2) * sl, math.cos(U1) * math.sin(U2) - math.sin(U1) * math.cos(U2) * cl)
        if ss == 0:
            return 0.0
        cs = math.sin(U1) * math.sin(U2) + math.cos(U1) * math.cos(U2) * cl
        sig = math.atan2(ss, cs)
        sa = math.cos(U1) * math.cos(U2) * sl / ss
        c2a = 1 - sa * sa
        c2sm = cs - 2 * math.sin(U1) * math.sin(U2) / c2a
        C = F / 16 * c2a * (4 + F * (4 - 3 * c2a))
        lp = lam
        lam = L + (1 - C) * F * sa * (sig + C * ss * (c2sm + C * cs * (-1 + 2 * c2sm * c2sm)))
        if abs(lam - lp) < 1e-12:
            break
    u2 = c2a * (A * A - B * B) / (B * B)
    Ak = 1 + u2 / 16384 * (4096 + u2 * (-768 + u2 * (320 - 175 * u2)))
    Bk = u2 / 1024 * (256 + u2 * (-128 + u2 * (74 - 47 * u2)))
    ds = Bk * ss * (c2sm + Bk / 4 * (cs * (-1 + 2 * c2sm * c2sm) - Bk / 6 * c2sm * (-3 + 4 * ss * ss) * (-3 + 4 * c2sm * c2sm)))
    return B * Ak * (sig - ds)


def line_len(pts):
    return sum(vincenty(a, b) for a, b in zip(pts, pts[1:]))


JJ_PIPES = [("JJ-WS-001", "JJ-W-001", "JJ-W-002"), ("JJ-WS-002", "JJ-W-002", "JJ-W-003"),
            ("JJ-WS-003", "JJ-W-003", "JJ-W-004"), ("JJ-WS-004", "JJ-W-004", "JJ-W-005"),
            ("JJ-WS-005", "JJ-W-011", "JJ-W-012"), ("JJ-WS-006", "JJ-W-012", "JJ-W-003"),
            ("JJ-WS-007", "JJ-W-021", "JJ-W-022"), ("JJ-WS-008", "JJ-W-022", "JJ-W-005"),
            ("JJ-WS-009", "JJ-W-005", "JJ-W-006"), ("JJ-WS-010", "JJ-W-006", "JJ-B-01"),
            ("JJ-WS-011", "JJ-B-01", "JJ-W-007"), ("JJ-WS-012", "JJ-W-007", "JJ-W-100"),
            ("JJ-WS-013", "JJ-W-031", "JJ-W-032"), ("JJ-WS-014", "JJ-W-032", "JJ-W-007"),
            ("JJ-YS-001", "JJ-Y-001", "JJ-Y-002"), ("JJ-YS-002", "JJ-Y-002", "JJ-Y-PK01"),
            ("JJ-HL-001", "JJ-Y-003", "JJ-Y-TX01")]
HY_PIPES = [("HY-WS-01", "HY-W-001", "HY-W-002"), ("HY-WS-02", "HY-W-002", "HY-W-003"),
            ("HY-WS-03", "HY-W-005", "HY-W-006"), ("HY-WS-04", "HY-W-006", "HY-W-003"),
            ("HY-WS-05", "HY-W-003", "HY-W-010"), ("HY-WS-06", "HY-W-010", "HY-W-013"),
            ("HY-WS-07", "HY-W-021", "HY-W-022"), ("HY-WS-08", "HY-W-022", "HY-W-010"),
            ("HY-YS-01", "HY-Y-001", "HY-Y-002")]


def jj_line(pid, a, b):
    if pid == "JJ-WS-011":
        return [JJ[a], JJ_VERTEX_011, JJ[b]]
    return [JJ[a], JJ[b]]


if __name__ == "__main__":
    for p, a, b in JJ_PIPES:
        print(p, a, b, round(line_len(jj_line(p, a, b)), 2))
    for p, a, b in HY_PIPES:
        print(p, a, b, round(vincenty(HY[a], HY[b]), 2))
