{#-
  出水在线监测日判定（预警用）：每座厂 × 日 × 因子一行，取 effluent_compliance_daily 的 verdict：
  exceeded 超标 / compliant 达标 / insufficient 数据不足（有效小时数少于 var min_valid_hours，不判超标也不判达标）；
  无限值（no_limit）的因子不参与预警。只读这一个专题库；其口径变化时只需改这里。
  Daily effluent state for the alerts, from effluent_compliance_daily.verdict.
-#}
select
    plant_id,
    date,
    factor,
    daily_mean,
    limit_mg_l,
    valid_hours,
    case verdict
        when 'exceeded' then 'exceeded'
        when 'compliant' then 'compliant'
        else 'insufficient'
    end as day_state
from {{ ref('effluent_compliance_daily') }}
where date <= {{ reporting_date() }}
  and verdict in ('exceeded', 'compliant', 'insufficient_data')
