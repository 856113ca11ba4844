{#-
  问题管段及原因（每个管段每个原因一行），原因：
  structural_grade  结构性缺陷等级 III–IV（任一次检测；以首次评为 III–IV 的检测日期为发现日期）
  ri_grade          修复指数等级 III–IV（同上）
  severe_misconnection 重度雨污混接（混接点记在管段上；只记检查井的混接点归到从该井流出的管段）
  capacity          能力不足候选（int_segment_capacity）
  管段一经列入即留在问题管网数据库中（不因之后的检测而移出）。每个原因的 resolved_on：
  结构/修复指数由覆盖该管段、在问题发现之后完工（已完工/已验收）的改造项目解决，或由之后一次评为 I–II 级的检测解决，
  取两者较早者；能力由改造项目解决；重度混接在其全部重度混接点已整改时解决，或由覆盖该管段的已完工雨污分流项目解决。
  Problem segments with one row per reason, and when each was resolved. A segment enters the register at its
  first inspection graded III–IV and stays there; a later inspection graded I–II resolves that reason
  (see docs/marts.md).
-#}
with graded as (
    -- every inspection, once per graded reason: history matters, not only the latest inspection
    select segment_id, 'structural_grade' as reason, inspected_on, structural_grade as grade
    from {{ ref('int_segment_inspections_scored') }}
    union all
    select segment_id, 'ri_grade', inspected_on, ri_grade
    from {{ ref('int_segment_inspections_scored') }}
),

graded_identified as (
    select segment_id, reason, min(inspected_on) as identified_on
    from graded
    where grade in ('III', 'IV')
    group by segment_id, reason
),

graded_reasons as (
    -- cleared_on: the first later inspection graded I–II (a repair that held, or a re-assessment)
    select
        gi.segment_id,
        gi.reason,
        gi.identified_on,
        min(case when g.inspected_on > gi.identified_on and g.grade in ('I', 'II') then g.inspected_on end)
            as cleared_on
    from graded_identified as gi
    inner join graded as g on g.segment_id = gi.segment_id and g.reason = gi.reason
    group by gi.segment_id, gi.reason, gi.identified_on
),

pipes as (
    select segment_id from {{ ref('stg_census__pipes') }}
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
    select segment_id, reason, identified_on, cast(null as date) as misconnection_resolved_on,
           cleared_on as inspection_cleared_on
    from graded_reasons
    union all
    select
        segment_id,
        'severe_misconnection',
        min(found_on),
        case when count(*) = count(case when rectification_status = 'rectified' then 1 end)
             then max(coalesce(rectified_on, found_on)) end,
        null
    from severe_points
    where segment_id is not null
    group by segment_id
    union all
    select segment_id, 'capacity', null, null, null
    from {{ ref('int_segment_capacity') }}
    where is_capacity_candidate
),

first_identified as (
    select segment_id, min(identified_on) as identified_on from reasons group by segment_id
),

project_completion as (
    -- the earliest completed project covering the segment after its problem was identified;
    -- only a separation project (雨污分流) resolves a misconnection
    select
        ps.segment_id,
        min(pr.actual_completion_on)                                                   as completed_on,
        min(case when pr.project_type = 'separation' then pr.actual_completion_on end) as separated_on
    from {{ ref('int_project_segments') }} as ps
    inner join {{ ref('stg_projects__upgrades') }} as pr on pr.project_id = ps.project_id
    inner join first_identified as f on f.segment_id = ps.segment_id
    where pr.status in ('completed', 'accepted')
      and pr.actual_completion_on is not null
      and (f.identified_on is null or pr.actual_completion_on >= f.identified_on)
    group by ps.segment_id
)

select
    r.segment_id,
    r.reason,
    r.identified_on,
    case
        when r.reason = 'severe_misconnection'
            then least(coalesce(r.misconnection_resolved_on, pc.separated_on), coalesce(pc.separated_on, r.misconnection_resolved_on))
        -- the earlier of the repair project and a later inspection graded I–II
        else least(coalesce(r.inspection_cleared_on, pc.completed_on), coalesce(pc.completed_on, r.inspection_cleared_on))
    end as resolved_on
from reasons as r
inner join pipes as p on p.segment_id = r.segment_id
left join project_completion as pc on pc.segment_id = r.segment_id
