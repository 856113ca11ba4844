{#-
  出水在线监测日判定（预警用）：每座厂 × 日 × 因子一行，day_state = exceeded 超标 / compliant 达标 /
  insufficient 数据不足（有效小时数少于 var min_valid_hours，日均值不具代表性，不判超标也不判达标）。
  读取 effluent_compliance_daily；issue 9 增加“数据不足”状态后只需改这里。
  Daily effluent state for the alerts: exceeded / compliant / insufficient (too few valid hours to judge).
-#}
select
    plant_id,
    date,
    factor,
    daily_mean,
    limit_mg_l,
    valid_hours,
    case
        when not meets_min_valid_hours or daily_mean is null then 'insufficient'
        when exceeded then 'exceeded'
        else 'compliant'
    end as day_state
from {{ ref('effluent_compliance_daily') }}
where date <= {{ reporting_date() }}
