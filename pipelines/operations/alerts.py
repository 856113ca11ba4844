"""Chinese alerts for failed runs: a file under ``<home>/alerts/``, and a webhook POST when one is configured.

The webhook body is the text message of the WeCom (企业微信) and DingTalk group robots,
``{"msgtype": "text", "text": {"content": ...}}``, content at most 2048 bytes of UTF-8 (the robots' limit), so a
robot URL works as is; any other endpoint receives the same JSON. One alert per run: writing it again for the same
run (the daemon's run-failure sensor and ``sewershare run`` may both see a failure) does nothing.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from dagster import ConfigurableResource

from pipelines.home import DataHome

WEBHOOK_ENV = "SEWERSHARE_ALERT_WEBHOOK"
UI_URL_ENV = "SEWERSHARE_UI_URL"
CONTENT_LIMIT = 2048          # bytes of UTF-8 in a WeCom / DingTalk text message
TIMEZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class FailedRun:
    run_id: str
    job_name: str
    failed_steps: list[tuple[str, str]]      # (step, first line of the error)
    plan: str = ""
    at: dt.datetime | None = None


def alert_text(run: FailedRun, ui_url: str = "") -> str:
    at = (run.at or dt.datetime.now(TIMEZONE)).astimezone(TIMEZONE)
    lines = [
        "【sewershare 运行失败告警】",
        f"时间：{at:%Y-%m-%d %H:%M:%S}（北京时间）",
        f"作业：{run.job_name}　运行编号：{run.run_id}",
    ]
    if run.plan:
        lines.append(f"本次运行内容：{run.plan}")
    if run.failed_steps:
        lines.append("失败步骤：")
        lines += [f"- {step}：{error}" for step, error in run.failed_steps]
    else:
        lines.append("失败步骤：无（运行在步骤之外失败，请查看运行日志）")
    lines.append("影响：已发布的共享库与数据包保持上一个合格版本，未发布本次数据。")
    lines.append("处理：在 Dagster 界面查看该运行的日志，修正后重新运行（sewershare run 或界面中重新执行）。")
    if ui_url:
        lines.append(f"查看：{ui_url.rstrip('/')}/runs/{run.run_id}")
    lines.append("(sewershare run failed; published data unchanged. See the run's log in Dagster.)")
    return "\n".join(lines)


def _clip(text: str, limit: int = CONTENT_LIMIT) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - len("…".encode())].decode("utf-8", errors="ignore") + "…"


class AlertResource(ConfigurableResource):
    """Where alerts go: ``<home>/alerts/`` always, ``webhook_url`` when set (configured once in definitions.py
    from SEWERSHARE_ALERT_WEBHOOK); ``ui_url`` (SEWERSHARE_UI_URL) adds a link to the run."""

    root: str
    webhook_url: str = ""
    ui_url: str = ""
    timeout_seconds: float = 10.0

    def send(self, run: FailedRun) -> Path | None:
        """Write the alert of ``run`` and post it; returns the file, or None if this run was alerted already."""
        folder = DataHome.resolve(self.root).alerts
        folder.mkdir(parents=True, exist_ok=True)
        at = (run.at or dt.datetime.now(TIMEZONE)).astimezone(TIMEZONE)
        if any(folder.glob(f"*_{run.run_id}.txt")):
            return None
        text = alert_text(run, self.ui_url)
        path = folder / f"{at:%Y%m%dT%H%M%S}_{run.run_id}.txt"
        tmp = path.with_name("." + path.name)
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, path)
        if self.webhook_url:
            body = json.dumps({"msgtype": "text", "text": {"content": _clip(text)}}, ensure_ascii=False)
            request = urllib.request.Request(self.webhook_url, data=body.encode("utf-8"), method="POST",
                                             headers={"Content-Type": "application/json; charset=utf-8"})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                    response.read()
            except OSError as exc:   # the file is written; a webhook that is down must not hide it
                with open(path, "a", encoding="utf-8") as fh:
                    fh.write(f"\n（告警推送失败 webhook failed: {exc}）\n")
        return path


def alert_resource(home: DataHome) -> AlertResource:
    return AlertResource(root=str(home.root), webhook_url=os.environ.get(WEBHOOK_ENV, ""),
                         ui_url=os.environ.get(UI_URL_ENV, ""))
