"""The daily schedule (``daily_refresh``, 02:00 China time, on by default).

Each day it runs what the day makes due, planned like every run (``pipelines/operations/plan.py``): files the
landing sensors have not taken yet (sensors switched off, a daemon that was down), the models whose result
depends on the reporting date (KPIs "as of today"), anything never built or whose code changed, then checks,
delivery freshness of every feed, and publication of what changed. With nothing due it still evaluates delivery
freshness, so a bureau that stopped sending is reported the next morning.
"""

from dagster import DefaultScheduleStatus, ScheduleDefinition, ScheduleEvaluationContext, schedule

from pipelines.ingest.partitions import TIMEZONE

DAILY_REFRESH = "daily_refresh"
CRON = "0 2 * * *"


def build_daily_schedule(job_name: str) -> ScheduleDefinition:
    @schedule(name=DAILY_REFRESH, cron_schedule=CRON, execution_timezone=TIMEZONE, job_name=job_name,
              default_status=DefaultScheduleStatus.RUNNING, required_resource_keys={"home"},
              description="每日02:00（北京时间）：接入遗留文件、按报告日期更新考核指标、检查报送及时性、发布变化的数据集。"
                          " Daily at 02:00 China time: what the day makes due (pipelines/operations/plan.py).")
    def _daily(context: ScheduleEvaluationContext):
        from pipelines.operations.plan import plan_run

        plan = plan_run(context.repository_def.asset_graph, context.instance, context.resources.home.home,
                        calendar=True)
        tick = context.scheduled_execution_time.strftime("%Y-%m-%d")
        return plan.run_request(run_key=f"{DAILY_REFRESH}:{tick}")

    return _daily
