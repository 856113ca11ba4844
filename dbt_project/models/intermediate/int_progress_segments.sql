{#-
  行动方案进度的计量单元：污水管与合流管，每个管段一行，带首次检测日期、问题发现日期和整改日期。
  按长度计量（DOMAIN.md §2）；一个管段只要有检测记录就以其普查长度全部计为已排查。
  The unit of the plan's progress: sewage and combined segments with the date first inspected, the date
  the problem was identified and the date rectified. A segment with any inspection counts with its whole
  census length as inspected.
-#}
with problems as (
    select
        segment_id,
        -- a reason without a date (capacity screening) counts from the start of the plan
        coalesce(min(identified_on), {{ plan_start_date() }})              as problem_identified_on,
        case when count(resolved_on) = count(*) then max(resolved_on) end  as rectified_on
    from {{ ref('int_segment_problems') }}
    group by segment_id
)

select
    p.segment_id,
    p.district_code,
    p.scope,
    coalesce(p.length_m, 0)          as length_m,
    c.first_inspected_on,
    pr.segment_id is not null         as is_problem,
    pr.problem_identified_on,
    pr.rectified_on
from {{ ref('stg_census__pipes') }} as p
left join {{ ref('int_segment_condition') }} as c on c.segment_id = p.segment_id
left join problems as pr on pr.segment_id = p.segment_id
where p.pipe_category in ('sewage', 'combined')
