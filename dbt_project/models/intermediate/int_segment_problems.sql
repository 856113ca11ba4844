{#-
  问题管段及原因（每个管段每个原因一行），原因：
  structural_grade  结构性缺陷等级 III–IV（最近一次检测）
  ri_grade          修复指数等级 III–IV（最近一次检测）
  severe_misconnection 重度雨污混接（混接点记在管段上；只记检查井的混接点归到从该井流出的管段）
  capacity          能力不足候选（int_segment_capacity）
  每个原因的 resolved_on：结构/修复指数/能力由覆盖该管段、在问题发现之后完工（已完工/已验收）的改造项目解决；
  重度混接在其全部重度混接点已整改时解决，或由覆盖该管段的已完工雨污分流项目（separation）解决。
  Problem segments with one row per reason, and when each reason was resolved (see docs/marts.md).
-#}
with condition as (
    select * from {{ ref('int_segment_condition') }}
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
        on m.segment_id is null and e.from_manhole_id = m.manhole_id
    where m.severity = 'severe'
),

reasons as (
    select segment_id, 'structural_grade' as reason, last_inspected_on as identified_on,
           null as misconnection_resolved_on
    from condition where structural_grade in ('III', 'IV')
    union all
    select segment_id, 'ri_grade', last_inspected_on, null
    from condition where ri_grade in ('III', 'IV')
    union all
    select
        segment_id,
        'severe_misconnection',
        min(found_on),
        case when count(*) = count(case when rectification_status = 'rectified' then 1 end)
             then max(coalesce(rectified_on, found_on)) end
    from severe_points
    where segment_id is not null
    group by segment_id
    union all
    select segment_id, 'capacity', null, null
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
        else pc.completed_on
    end as resolved_on
from reasons as r
inner join pipes as p on p.segment_id = r.segment_id
left join project_completion as pc on pc.segment_id = r.segment_id
