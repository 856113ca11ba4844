{#-
  问题管段的原因（每个管段每个原因一行）及每个原因可能的解决日期：
    structural_grade      结构性等级 III–IV（CCTV 或 QV 检测；发现日期为首次评为 III–IV 的检测日期）
    ri_grade              修复指数等级 III–IV（同上）
    severe_misconnection  重度雨污混接（只记检查井的混接点归到从该井流出的污水/合流管段）
    direct_discharge      直排口：终点为排放口的污水/合流管（int_segment_network），发现日期为普查填报日期
  能力不足只是候选（capacity_screening），未经核实不进入问题管网数据库，也不计入 70%/100% 考核。
  解决只能来自针对原因的工程（整改要“对症”）：结构/修复指数由管网修复或新建（翻建）工程，混接由雨污分流工程
  或全部重度混接点整改完毕，直排口由雨污分流或新建（截污纳管）工程；工程须在问题发现之后完工：
    works_completed_on  最早一个已完工或已验收的对症工程的实际完工日期
    works_accepted_on   最早一个已验收的对症工程的实际完工日期（契约无验收日期，见 docs/decisions.md）
    regraded_on         结构/修复指数：之后第一次评为 I–II 级的 CCTV 检测（复评，不是工程整改；QV 为初判不能复评）
  Problem reasons per segment, each with the dates that may resolve it (see above). Status is computed once,
  in int_segment_problem_status.
-#}
with graded as (
    -- every structural assessment (CCTV or QV), once per graded reason: history matters, not only the latest
    select segment_id, 'structural_grade' as reason, inspected_on, method, structural_grade as grade
    from {{ ref('int_segment_inspections_scored') }}
    where assesses_structure
    union all
    select segment_id, 'ri_grade', inspected_on, method, ri_grade
    from {{ ref('int_segment_inspections_scored') }}
    where assesses_structure
),

graded_reasons as (
    select
        segment_id,
        reason,
        min(case when grade in ('III', 'IV') then inspected_on end)  as identified_on,
        max(case when grade = 'IV' then 1 else 0 end) = 1            as worst_grade_iv
    from graded
    group by segment_id, reason
    having count(case when grade in ('III', 'IV') then 1 end) > 0
),

regraded as (
    select r.segment_id, r.reason, min(g.inspected_on) as regraded_on
    from graded_reasons as r
    inner join graded as g
        on g.segment_id = r.segment_id and g.reason = r.reason
        and g.inspected_on > r.identified_on and g.grade in ('I', 'II') and g.method = 'CCTV'
    group by r.segment_id, r.reason
),

severe_points as (
    select
        m.misconnection_id,
        coalesce(m.segment_id, e.segment_id) as segment_id,
        m.found_on,
        m.rectification_status,
        m.rectified_on
    from {{ ref('stg_misconnections__points') }} as m
    left join {{ ref('int_network_edges') }} as e
        on m.segment_id is null and e.from_manhole_id = m.manhole_id and e.pipe_category in ('sewage', 'combined')
    where m.severity = 'severe'
),

reasons as (
    select segment_id, reason, identified_on, worst_grade_iv, cast(null as date) as points_rectified_on
    from graded_reasons
    union all
    select
        segment_id,
        'severe_misconnection',
        min(found_on),
        false,
        case when count(*) = count(case when rectification_status = 'rectified' then 1 end)
             then max(coalesce(rectified_on, found_on)) end
    from severe_points
    where segment_id is not null
    group by segment_id
    union all
    select n.segment_id, 'direct_discharge', coalesce(p.reported_on, {{ plan_start_date() }}), false, null
    from {{ ref('int_segment_network') }} as n
    inner join {{ ref('stg_census__pipes') }} as p on p.segment_id = n.segment_id
    where n.is_direct_discharge
),

fixing_works as (
    -- which project types fix which reason
    select 'structural_grade' as reason, 'repair' as project_type union all
    select 'structural_grade', 'new_build' union all
    select 'ri_grade', 'repair' union all
    select 'ri_grade', 'new_build' union all
    select 'severe_misconnection', 'separation' union all
    select 'direct_discharge', 'separation' union all
    select 'direct_discharge', 'new_build'
),

works as (
    select
        r.segment_id,
        r.reason,
        min(pr.actual_completion_on)                                                  as works_completed_on,
        min(case when pr.status = 'accepted' then pr.actual_completion_on end)        as works_accepted_on
    from reasons as r
    inner join fixing_works as f on f.reason = r.reason
    inner join {{ ref('int_project_segments') }} as ps on ps.segment_id = r.segment_id
    inner join {{ ref('stg_projects__upgrades') }} as pr
        on pr.project_id = ps.project_id and pr.project_type = f.project_type
    where pr.status in ('completed', 'accepted')
      and pr.actual_completion_on is not null
      and pr.actual_completion_on >= r.identified_on
    group by r.segment_id, r.reason
)

select
    r.segment_id,
    r.reason,
    r.identified_on,
    r.worst_grade_iv,
    -- the misconnection's own points all rectified is its works
    least(coalesce(w.works_completed_on, r.points_rectified_on), coalesce(r.points_rectified_on, w.works_completed_on))
                                                                       as works_completed_on,
    least(coalesce(w.works_accepted_on, r.points_rectified_on), coalesce(r.points_rectified_on, w.works_accepted_on))
                                                                       as works_accepted_on,
    g.regraded_on
from reasons as r
inner join {{ ref('stg_census__pipes') }} as p on p.segment_id = r.segment_id
left join works as w on w.segment_id = r.segment_id and w.reason = r.reason
left join regraded as g on g.segment_id = r.segment_id and g.reason = r.reason
