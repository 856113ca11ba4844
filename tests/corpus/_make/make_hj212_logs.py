"""Assembles the two HJ 212-2017 packet logs of plant_online/ from the hand-written value
tables below. The only thing a clerk could not write by hand is the CRC, so this script
frames each data segment as ##dddd<segment><CRC> with the CRC of DOMAIN.md §5
(idcheck.hj212_crc, checked against the standard's test vector), then spoils on purpose:
 - file 1, hour 07: truncated mid-packet (transmission cut);
 - file 1, hour 15: one wrong CRC (last 4 hex digits changed);
 - file 1: a truncated resend of hour 16 right after the complete hour-16 packet;
 - file 2: a truncated first try of 06-06 inlet before the complete one.
File 1 ends lines with CRLF (as the standard frames them), file 2 with LF only.
"""
import os
from idcheck import hj212_packet, hj212_crc

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "plant_online")

PW = "123456"
MN_JJ_OUT = "331002WS01CS000000000002"
MN_LQ_IN = "331004WS01JS000000000001"
MN_LQ_OUT = "331004WS01CS000000000002"

# 台州市中心污水处理厂 outlet, 2024-06-10, hourly.  hour: (flow m3 in the hour, pH, COD, NH3-N, TN, TP, flags)
# flags: per-factor flag overrides, factor -> flag
JJ_HOURS = {
    0: (11850, 7.12, 18.2, 0.32, 8.5, 0.16, {}),
    1: (11020, 7.10, 17.9, 0.30, 8.4, 0.16, {}),
    2: (10480, 7.11, 17.5, 0.29, 8.3, 0.15, {}),
    3: (10150, 7.09, 17.1, 0.28, 8.2, 0.15, {"w01018": "D"}),
    4: (10010, 7.08, 16.8, 0.28, 8.2, 0.15, {"w01018": "D"}),
    5: (10390, 7.10, 17.0, 0.29, 8.2, 0.15, {}),
    6: (11560, 7.13, 17.6, 0.31, 8.4, 0.16, {}),
    7: (12780, 7.15, 18.4, 0.34, 8.6, 0.17, {}),
    8: (13620, 7.16, 19.1, 0.36, 8.8, 0.17, {}),
    9: (13950, 7.17, 19.6, 0.38, 8.9, 0.18, {}),
    10: (14010, 7.18, 19.8, 0.39, 9.0, 0.18, {}),
    11: (13880, 0.00, 0.0, 0.00, 0.0, 0.00, {"w01001": "M", "w01018": "M", "w21003": "M", "w21001": "M", "w21011": "M"}),
    12: (13500, 7.17, 20.1, 0.40, 9.1, 0.18, {}),
    13: (13260, 7.16, 20.3, 0.41, 9.1, 0.19, {}),
    14: (13100, 7.15, 20.0, 0.40, 9.0, 0.18, {}),
    15: (12940, 7.15, 19.7, 0.39, 9.0, 0.18, {}),
    16: (12880, 7.14, 19.5, 0.38, 8.9, 0.18, {}),
    17: (13050, 7.14, 19.4, 0.37, 8.9, 0.17, {}),
    18: (13400, 7.13, 19.2, 0.37, 8.8, 0.17, {}),
    19: (13720, 7.13, 19.0, 0.36, 8.8, 0.17, {}),
    20: (13560, 7.12, 18.8, 12.50, 8.7, 0.17, {"w21003": "T"}),
    21: (13210, 7.12, 18.6, 0.34, 8.7, 0.16, {}),
    22: (12630, 7.11, 18.4, 0.33, 8.6, 0.16, {}),
    23: (12150, 7.11, 18.3, 0.32, 8.5, 0.16, {}),
}
# daily CN=2031 packet for 2024-06-10 as the plant's data logger computed it from its own 24 hours
# (means of the N-flagged hours; flow = total m3).  Written by hand from the table above:
JJ_DAY = (301100, 7.13, 18.9, 0.35, 8.7, 0.17)

# 路桥污水处理厂 daily averages 2024-06-01..07: day: (flow m3/d, pH, COD, NH3-N, TN, TP, flags)
LQ_IN = {
    1: (151800, 7.21, 221.0, 22.4, 30.6, 2.95, {}),
    2: (149500, 7.20, 214.0, 21.8, 29.9, 2.90, {"w21011": "D"}),
    3: (154700, 7.22, 232.0, 23.5, 31.8, 3.10, {}),
    4: (158300, 7.19, 238.0, 24.6, 32.7, 3.25, {}),
    5: (150900, 7.21, 219.0, 22.1, 30.2, 2.88, {}),
    6: (160100, 7.18, 226.0, 23.0, 31.1, 3.02, {}),
    7: (150600, 7.22, 212.0, 21.5, 29.6, 2.84, {}),
}
LQ_OUT = {
    1: (152300, 7.05, 24.5, 0.82, 9.6, 0.21, {}),
    2: (149800, 7.02, 23.8, 0.78, 9.4, 0.20, {}),
    3: (155100, 7.04, 25.1, 0.91, 9.9, 0.22, {}),
    4: (158600, 7.01, 27.3, 2.60, 10.8, 0.24, {}),
    5: (151200, 7.03, 24.9, 1.15, 10.1, 0.23, {}),
    6: (160400, 7.00, 26.2, 0.95, 10.4, 0.35, {}),
    7: (150900, 7.06, 23.5, 0.80, 9.5, 0.20, {}),
}


def cp(datatime, flow_cou, flow_avg, ph, cod, nh3, tn, tp, flags):
    f = lambda k: flags.get(k, "N")
    return ("DataTime=%s;w00000-Avg=%.1f,w00000-Cou=%.1f,w00000-Flag=%s;w01001-Avg=%.2f,w01001-Flag=%s;"
            "w01018-Avg=%.1f,w01018-Flag=%s;w21003-Avg=%.2f,w21003-Flag=%s;w21001-Avg=%.1f,w21001-Flag=%s;"
            "w21011-Avg=%.2f,w21011-Flag=%s" % (datatime, flow_avg, flow_cou, f("w00000"), ph, f("w01001"),
                                                cod, f("w01018"), nh3, f("w21003"), tn, f("w21001"), tp, f("w21011")))


def seg(qn, cn, mn, cpbody):
    return "QN=%s;ST=32;CN=%s;PW=%s;MN=%s;Flag=4;CP=&&%s&&" % (qn, cn, PW, mn, cpbody)


def file1():
    lines = []
    for h in range(24):
        flow, ph, cod, nh3, tn, tp, fl = JJ_HOURS[h]
        up_day, up_h = ("20240610", h + 1) if h < 23 else ("20240611", 0)
        qn = "%s%02d0012%03d" % (up_day, up_h, 100 + h)
        s = seg(qn, "2061", MN_JJ_OUT, cp("20240610%02d0000" % h, flow, flow / 3.6, ph, cod, nh3, tn, tp, fl))
        pkt = hj212_packet(s)
        if h == 7:
            pkt = pkt[: len(pkt) * 3 // 5]            # cut mid-packet
        elif h == 15:
            good = pkt[-4:]
            bad = "%04X" % (int(good, 16) ^ 0x0101)
            pkt = pkt[:-4] + bad                       # wrong CRC
        lines.append(pkt)
        if h == 16:
            lines.append(pkt[: len(pkt) // 3])         # truncated resend
    flow, ph, cod, nh3, tn, tp = JJ_DAY
    s = seg("20240611000512345", "2031", MN_JJ_OUT, cp("20240610000000", flow, flow / 86.4, ph, cod, nh3, tn, tp, {}))
    lines.append(hj212_packet(s))
    path = os.path.join(OUT, "331002-WS-01_出口_CN2061_20240610.log")
    with open(path, "w", newline="") as fh:
        fh.write("".join(l + "\r\n" for l in lines))
    return path


def file2():
    lines = []
    for d in range(1, 8):
        for mn, tab in ((MN_LQ_IN, LQ_IN), (MN_LQ_OUT, LQ_OUT)):
            flow, ph, cod, nh3, tn, tp, fl = tab[d]
            qn = "202406%02d00%02d03%03d" % (d + 1, 10 if mn == MN_LQ_IN else 11, d)
            s = seg(qn, "2031", mn, cp("202406%02d000000" % d, flow, flow / 86.4, ph, cod, nh3, tn, tp, fl))
            pkt = hj212_packet(s)
            if d == 6 and mn == MN_LQ_IN:
                lines.append(pkt[: len(pkt) // 2])     # first try cut off
            lines.append(pkt)
    path = os.path.join(OUT, "路桥污水处理厂_日均值_CN2031_20240601-07.log")
    with open(path, "w", newline="") as fh:
        fh.write("".join(l + "\n" for l in lines))
    return path


if __name__ == "__main__":
    print(file1())
    print(file2())
