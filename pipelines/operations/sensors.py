"""The run-failure sensor: every failed run of the code location leaves a Chinese alert (file, webhook).

On by default; evaluated by the daemon, also for the runs ``sewershare run`` executes in-process on the same
instance (the CLI also alerts by itself, for when no daemon runs; an alert is written once per run).
"""

from dagster import (
    DagsterEventType,
    DagsterInstance,
    DefaultSensorStatus,
    RunFailureSensorContext,
    SensorDefinition,
    run_failure_sensor,
)

from pipelines.operations.alerts import AlertResource, FailedRun
from pipelines.operations.plan import PLAN_TAG

RUN_FAILURE_SENSOR = "run_failure_alert"


def failed_run(instance: DagsterInstance, run_id: str) -> FailedRun:
    """What failed in ``run_id``, from the run's event log."""
    run = instance.get_run_by_id(run_id)
    steps = []
    for record in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE):
        event = record.dagster_event
        error = event.step_failure_data.error if event and event.step_failure_data else None
        while error is not None and error.cause is not None:   # Dagster's wrapper first, the cause last
            error = error.cause
        message = (error.message.strip().splitlines() or [""])[0] if error else "failed"
        steps.append((event.step_key if event else "?", message[:300]))
    return FailedRun(run_id=run_id, job_name=run.job_name if run else "?", failed_steps=steps,
                     plan=(run.tags.get(PLAN_TAG, "") if run else ""))


def build_run_failure_sensor() -> SensorDefinition:
    @run_failure_sensor(name=RUN_FAILURE_SENSOR, default_status=DefaultSensorStatus.RUNNING,
                        minimum_interval_seconds=30,
                        description="运行失败时写入中文告警（alerts/ 目录；配置了 SEWERSHARE_ALERT_WEBHOOK 时推送）。"
                                    " Writes a Chinese alert for every failed run (file + optional webhook).")
    def _alert(context: RunFailureSensorContext, alerts: AlertResource):
        path = alerts.send(failed_run(context.instance, context.dagster_run.run_id))
        if path:
            context.log.info(f"告警已写入 alert written: {path}")

    return _alert
