"""Acknowledging alerts (预警签收) is a human act, so it enters the platform as data: ``sewershare ack`` writes a
small CSV into ``landing/alert_acks/`` with the headers of ``sources/alert_acks.yml``; the next run loads it like
any bureau file (contract checks, file registry, raw history), and ``marts.alerts`` shows the alert as
acknowledged with the date, the department and the file. A bureau may send the same CSV itself.
"""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from pipelines.contracts import load_contracts
from pipelines.home import DataHome

FEED = "alert_acks"


def write_acknowledgement(home: DataHome, alert_keys: list[str], *, by: str, on: str | dt.date | None = None,
                          action: str | None = None, remarks: str | None = None) -> Path:
    contract = load_contracts()[FEED]
    units = contract.column("acknowledged_by").values
    if by not in units:
        raise ValueError(f"签收单位「{by}」不在契约 sources/alert_acks.yml 的取值中 (unknown unit): "
                         + "、".join(sorted(k for k in units if not k.isascii())))
    day = dt.date.fromisoformat(str(on)) if on else dt.date.today()
    headers = [contract.column(name).header for name in ("alert_key", "acknowledged_by", "acknowledged_on",
                                                          "action", "remarks")]
    folder = home.landing_for(FEED)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S%f")
    path = folder / f"预警签收_{stamp}.csv"
    tmp = path.with_name("." + path.name + ".tmp")   # not matched by *.csv until complete
    with tmp.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(headers)
        for key in alert_keys:
            writer.writerow([key, by, day.isoformat(), action or "", remarks or ""])
    tmp.rename(path)
    return path
