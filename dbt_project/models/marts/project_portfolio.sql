{#-
  改造项目台账：每个项目一行，涉及管段及长度、计划与实际开完工及延误天数、投资与资金来源。
  延误：已开工/已完工的按实际减计划；计划日期已过仍未开工/完工的按报告日减计划（仍在延误）。
  One row per upgrade project with segments and length covered, schedule and delays, investment.
  A delay is actual − planned; when the planned date has passed without the event, reporting date − planned.
-#}
with covered as (
    select
        ps.project_id,
        count(*)                                                   as segments_listed,
        count(case when ps.in_census then 1 end)                   as segments_in_census,
        round(coalesce({{ exact_sum('p.length_m') }}, 0), 2)                     as length_covered_m,
        count(case when s.in_problem_register then 1 end)                   as problem_segments_covered,
        round(coalesce({{ exact_sum('case when s.in_problem_register then p.length_m end') }}, 0), 2) as problem_length_covered_m
    from {{ ref('int_project_segments') }} as ps
    left join {{ ref('stg_census__pipes') }} as p on p.segment_id = ps.segment_id
    left join {{ ref('pipe_segments') }} as s on s.segment_id = ps.segment_id
    group by ps.project_id
)

select
    pr.project_id,
    pr.project_name,
    pr.district_code,
    pr.project_type,
    pr.status,
    coalesce(c.segments_listed, 0)                 as segments_listed,
    coalesce(c.segments_in_census, 0)              as segments_in_census,
    coalesce(c.length_covered_m, 0)                as length_covered_m,
    coalesce(c.problem_segments_covered, 0)        as problem_segments_covered,
    coalesce(c.problem_length_covered_m, 0)        as problem_length_covered_m,
    pr.planned_start_on,
    pr.actual_start_on,
    pr.planned_completion_on,
    pr.actual_completion_on,
    case
        when pr.actual_start_on is not null
            then {{ dbt.datediff('pr.planned_start_on', 'pr.actual_start_on', 'day') }}
        when pr.planned_start_on < {{ reporting_date() }}
            then {{ dbt.datediff('pr.planned_start_on', reporting_date(), 'day') }}
    end                                            as start_delay_days,
    case
        when pr.actual_completion_on is not null
            then {{ dbt.datediff('pr.planned_completion_on', 'pr.actual_completion_on', 'day') }}
        when pr.planned_completion_on < {{ reporting_date() }}
            then {{ dbt.datediff('pr.planned_completion_on', reporting_date(), 'day') }}
    end                                            as completion_delay_days,
    pr.actual_completion_on is null and pr.planned_completion_on < {{ reporting_date() }} as is_overdue,
    round(pr.investment_yuan, 2)                   as investment_yuan,
    pr.funding_source,
    {{ reporting_date() }}                         as as_of
from {{ ref('stg_projects__upgrades') }} as pr
left join covered as c on c.project_id = pr.project_id
