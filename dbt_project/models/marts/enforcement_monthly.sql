-- 执法统计：每个区县 × 月份 × 执法部门 × 违法行为类型一行：案件数与罚款金额。
-- Enforcement per district, month, bureau and violation type: cases and penalties.
select
    district_code,
    cast({{ dbt.date_trunc('month', 'inspected_on') }} as date)        as month,
    source_bureau,
    violation_type,
    count(*)                                                           as cases,
    count(case when case_status <> 'dismissed' or case_status is null then 1 end) as cases_not_dismissed,
    count(case when case_status = 'penalised' then 1 end)              as cases_penalised,
    count(case when case_status = 'closed' then 1 end)                 as cases_closed,
    round(coalesce({{ exact_sum('penalty_yuan') }}, 0), 2)                           as penalties_yuan,
    count(distinct credit_code)                                        as subjects_with_credit_code
from {{ ref('int_enforcement_located') }}
group by 1, 2, 3, 4
