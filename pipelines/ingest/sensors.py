"""One sensor per landing folder (``landing_<feed>``): a delivered file starts a run.

Every ``MINIMUM_INTERVAL`` seconds the sensor of a feed looks at ``landing/<feed>/``. A file is admitted when it
is settled: the same size and modification time as at the previous tick, and at least ``SETTLE_SECONDS`` old
(an upload still in progress changes both). The admitted files of a tick start one run, planned like every run
(``pipelines/operations/plan.py``): that feed's asset with its files named in the run config, everything
downstream of it (dbt models, checks, publication), and for a time-series feed the days the files hold. The run
key is the file's SHA-256 (for several files, a hash of their hashes), so the same bytes never start a second
run; a file already requested is not requested again while it waits to be loaded.

On by default (``DefaultSensorStatus.RUNNING``); the daemon (``sewershare dagster`` / ``dagster-daemon run``)
evaluates them.
"""

import json
import time
from collections.abc import Mapping

from dagster import (
    DefaultSensorStatus,
    SensorDefinition,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from pipelines.contracts import Contract
from pipelines.hashing import sha256_file
from pipelines.ingest.landing import SETTLE_SECONDS
from pipelines.ingest.loader import landing_files

MINIMUM_INTERVAL = 30


def landing_sensor_name(feed: str) -> str:
    return f"landing_{feed}"


def admitted_files(contract: Contract, home, cursor: dict, now: float | None = None) -> tuple[list, dict]:
    """The files a tick admits, and the cursor for the next tick.

    Cursor: ``seen`` (name → [size, mtime_ns] at the last tick) and ``requested`` (name → sha256 of the
    bytes a run was requested for)."""
    now = time.time() if now is None else now
    seen_before = cursor.get("seen", {})
    requested = cursor.get("requested", {})
    seen, admitted = {}, []
    for path in landing_files(contract, home):
        try:
            stat = path.lstat()   # a link is registered as refused by the run, never followed here
        except FileNotFoundError:
            continue
        observed = [stat.st_size, stat.st_mtime_ns]
        seen[path.name] = observed
        settled = seen_before.get(path.name) == observed and now - stat.st_mtime >= SETTLE_SECONDS
        if not settled:
            continue
        if path.name in requested and (path.is_symlink() or requested[path.name] == sha256_file(path)[0]):
            continue
        admitted.append(path)
    # forget requests for files no longer waiting (loaded, rejected or removed)
    requested = {name: sha for name, sha in requested.items() if name in seen}
    return admitted, {"seen": seen, "requested": requested}


def build_landing_sensor(contract: Contract, job_name: str) -> SensorDefinition:
    feed = contract.feed

    @sensor(name=landing_sensor_name(feed), job_name=job_name, minimum_interval_seconds=MINIMUM_INTERVAL,
            default_status=DefaultSensorStatus.RUNNING, required_resource_keys={"home"},
            description=f"接收目录 landing/{feed}/ 有新文件（稳定 {SETTLE_SECONDS} 秒以上）即启动一次运行："
                        f"{contract.title_zh} 及其下游。A settled new file in landing/{feed}/ starts one run.")
    def _landing(context: SensorEvaluationContext):
        from pipelines.operations.plan import plan_run

        home = context.resources.home.home
        admitted, cursor = admitted_files(contract, home, json.loads(context.cursor or "{}"))
        if not admitted:
            context.update_cursor(json.dumps(cursor))
            return SkipReason(f"landing/{feed}/ 没有新的稳定文件 (no new settled file)")
        plan = plan_run(context.repository_def.asset_graph, context.instance, home, files={feed: admitted},
                        calendar=False)
        for path in admitted:
            cursor["requested"][path.name] = "" if path.is_symlink() else sha256_file(path)[0]
        context.update_cursor(json.dumps(cursor))
        context.log.info(f"{feed}: {len(admitted)} 个文件 → 运行 run: {plan.summary()}")
        return [plan.run_request(run_key=plan.run_key())]

    return _landing


def build_landing_sensors(contracts: Mapping[str, Contract], job_name: str) -> list[SensorDefinition]:
    return [build_landing_sensor(contract, job_name) for contract in contracts.values()]
