-- 资金监督：每个区县 × 资金来源一行的项目数与投资合计（含按状态拆分）。供财政局监督资金使用。
-- Per district and funding source: projects and investment, split by status, for the finance bureau.
-- A project whose 区县 the bureau wrote in a form no contract knows keeps its row (issue 8: district is
-- descriptive) and its money still counts: it is grouped under 'unknown' like an unfilled funding source, and
-- `sewershare labels` lists the label to map.
select
    coalesce(district_code, 'unknown')                                        as district_code,
    coalesce(funding_source, 'unknown')                                       as funding_source,
    count(*)                                                                  as projects,
    round(coalesce({{ exact_sum('investment_yuan') }}, 0), 2)                               as investment_yuan,
    round(coalesce({{ exact_sum("case when status in ('completed', 'accepted') then investment_yuan end") }}, 0), 2) as investment_completed_yuan,
    round(coalesce({{ exact_sum("case when status = 'under_construction' then investment_yuan end") }}, 0), 2)       as investment_under_construction_yuan,
    round(coalesce({{ exact_sum("case when status in ('planning', 'suspended') then investment_yuan end") }}, 0), 2) as investment_planning_or_suspended_yuan,
    count(case when is_overdue then 1 end)                                    as projects_overdue,
    round(coalesce({{ exact_sum('length_covered_m') }}, 0), 2)                              as length_covered_m
from {{ ref('project_portfolio') }}
group by 1, 2
