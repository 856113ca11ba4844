{#-
  行动方案进度：每个区县 × 范围（建成区/工业园区）× 报告日期一行，另加全市行（district_code 331000）。
  报告日期 = 从 plan_start_date 到 reporting_date 的每个月末（不晚于报告日），再加 reporting_date 本身。
  排查率 = 行动期间结构性检测（CCTV/QV）实际检测的长度 / 管网长度（int_progress_inspected_length）；
  整改率 = 对症工程已验收整改的问题管段长度 / 需整改的问题管段长度（已复评为 I–II 级的不计入分子分母，
  见 int_segment_problem_status）；待验收与已复评长度单独列出。污水管+合流管。
  目标：target_* 为报告日已到期的最近一个目标（须已达到），next_target_* 为下一个目标；
  expected_*_pct 为参考进度：从上一个目标（或方案起点的 0%）到下一个目标的直线插值（方案未规定中间进度，仅供参考）；
  on_track = 实际百分比 ≥ 参考进度（到期日当天即等于该目标值，例如恰好 60% 为达标）。
  Plan progress per district, scope and reporting date (never after it), plus city rows. on_track compares each
  percentage with the straight-line reference pace (参考进度) between consecutive targets (docs/marts.md).
-#}
with segments as (
    select * from {{ ref('int_progress_segments') }}
),

inspected as (
    select i.segment_id, i.inspected_on, i.added_length_m, s.district_code, s.scope
    from {{ ref('int_progress_inspected_length') }} as i
    inner join segments as s on s.segment_id = i.segment_id
),

dates as (
    select as_of from ({{ month_ends(plan_start_date(), reporting_date()) }}) as m
    where as_of <= {{ reporting_date() }}
    union
    select {{ reporting_date() }}
),

units as (
    select distinct district_code, scope from segments
    union
    select distinct '331000', scope from segments
),

city_segments as (
    select segment_id, district_code, scope, length_m, in_register, problem_identified_on, rectified_on,
           regraded_on, works_completed_on
    from segments
    union all
    select segment_id, '331000', scope, length_m, in_register, problem_identified_on, rectified_on,
           regraded_on, works_completed_on
    from segments
),

city_inspected as (
    select segment_id, inspected_on, added_length_m, district_code, scope from inspected
    union all
    select segment_id, inspected_on, added_length_m, '331000', scope from inspected
),

network as (
    select
        u.district_code,
        u.scope,
        d.as_of,
        coalesce({{ exact_sum('s.length_m') }}, 0)                                                 as network_length_m,
        coalesce({{ exact_sum("case when s.in_register and s.problem_identified_on <= d.as_of
                           and not coalesce(s.regraded_on <= d.as_of, false) then s.length_m end") }}, 0) as problem_length_m,
        coalesce({{ exact_sum('case when s.in_register and s.rectified_on <= d.as_of then s.length_m end') }}, 0) as rectified_length_m,
        coalesce({{ exact_sum('case when s.in_register and s.regraded_on <= d.as_of then s.length_m end') }}, 0) as regraded_length_m,
        coalesce({{ exact_sum("case when s.in_register and s.works_completed_on <= d.as_of
                           and not coalesce(s.rectified_on <= d.as_of, false)
                           and not coalesce(s.regraded_on <= d.as_of, false) then s.length_m end") }}, 0)
                                                                                                   as awaiting_acceptance_length_m
    from units as u
    cross join dates as d
    left join city_segments as s on s.district_code = u.district_code and s.scope = u.scope
    group by u.district_code, u.scope, d.as_of
),

coverage as (
    select
        u.district_code,
        u.scope,
        d.as_of,
        coalesce({{ exact_sum('case when i.inspected_on <= d.as_of then i.added_length_m end') }}, 0) as inspected_length_m
    from units as u
    cross join dates as d
    left join city_inspected as i on i.district_code = u.district_code and i.scope = u.scope
    group by u.district_code, u.scope, d.as_of
),

measured as (
    select
        n.district_code,
        n.scope,
        n.as_of,
        round(n.network_length_m, 2)                 as network_length_m,
        round(c.inspected_length_m, 2)               as inspected_length_m,
        round(n.problem_length_m, 2)                 as problem_length_m,
        round(n.rectified_length_m, 2)               as rectified_length_m,
        round(n.regraded_length_m, 2)                as regraded_length_m,
        round(n.awaiting_acceptance_length_m, 2)     as awaiting_acceptance_length_m
    from network as n
    inner join coverage as c on c.district_code = n.district_code and c.scope = n.scope and c.as_of = n.as_of
),

percentages as (
    select
        *,
        {{ pct('inspected_length_m', 'network_length_m') }}  as inspected_pct,
        {{ pct('rectified_length_m', 'problem_length_m') }}  as rectified_pct
    from measured
),

targets as (
    select metric, scope, deadline, threshold_pct
    from {{ ref('plan_targets') }}
    where metric in ('inspected_pct', 'rectified_pct') and threshold_pct is not null
),

target_pairs as (
    -- for each reporting date and metric: the last target due (in force) and the next one
    select
        p.district_code,
        p.scope,
        p.as_of,
        t.metric,
        max(case when t.deadline <= p.as_of then t.deadline end)  as in_force_deadline,
        min(case when t.deadline > p.as_of then t.deadline end)   as next_deadline
    from percentages as p
    inner join targets as t on t.scope = p.scope
    group by p.district_code, p.scope, p.as_of, t.metric
),

target_values as (
    select
        tp.*,
        tf.threshold_pct as in_force_pct,
        tn.threshold_pct as next_pct,
        -- straight line from the last target (or 0% at the plan's start) to the next target
        case
            when tn.threshold_pct is null then tf.threshold_pct
            else coalesce(tf.threshold_pct, 0)
                 + (tn.threshold_pct - coalesce(tf.threshold_pct, 0))
                   * greatest({{ dbt.datediff('coalesce(tp.in_force_deadline, ' ~ plan_start_date() ~ ')', 'tp.as_of', 'day') }}, 0)
                   / nullif({{ dbt.datediff('coalesce(tp.in_force_deadline, ' ~ plan_start_date() ~ ')', 'tp.next_deadline', 'day') }}, 0)
        end              as expected_pct
    from target_pairs as tp
    left join targets as tf on tf.metric = tp.metric and tf.scope = tp.scope and tf.deadline = tp.in_force_deadline
    left join targets as tn on tn.metric = tp.metric and tn.scope = tp.scope and tn.deadline = tp.next_deadline
),

inspected_targets as (
    select * from target_values where metric = 'inspected_pct'
),

rectified_targets as (
    select * from target_values where metric = 'rectified_pct'
)

select
    p.district_code,
    d.name_zh                             as district_name,
    p.scope,
    p.as_of,
    p.network_length_m,
    p.inspected_length_m,
    p.inspected_pct,
    p.problem_length_m,
    p.rectified_length_m,
    p.rectified_pct,
    p.awaiting_acceptance_length_m,
    p.regraded_length_m,
    it.in_force_pct                       as inspected_target_pct,
    it.in_force_deadline                  as inspected_target_deadline,
    it.next_pct                           as inspected_next_target_pct,
    it.next_deadline                      as inspected_next_target_deadline,
    round(it.expected_pct, 4)             as inspected_expected_pct,
    rt.in_force_pct                       as rectified_target_pct,
    rt.in_force_deadline                  as rectified_target_deadline,
    rt.next_pct                           as rectified_next_target_pct,
    rt.next_deadline                      as rectified_next_target_deadline,
    round(rt.expected_pct, 4)             as rectified_expected_pct,
    coalesce(p.inspected_pct, 0) >= round(it.expected_pct, 4)              as inspected_on_track,
    -- no problem found yet: nothing to rectify, the rectification target is not missed
    coalesce(p.rectified_pct, 100) >= round(rt.expected_pct, 4)            as rectified_on_track,
    coalesce(p.inspected_pct, 0) >= round(it.expected_pct, 4)
        and coalesce(p.rectified_pct, 100) >= round(rt.expected_pct, 4)    as on_track
from percentages as p
left join inspected_targets as it on it.district_code = p.district_code and it.scope = p.scope and it.as_of = p.as_of
left join rectified_targets as rt on rt.district_code = p.district_code and rt.scope = p.scope and rt.as_of = p.as_of
left join {{ ref('districts') }} as d on d.district_code = p.district_code
