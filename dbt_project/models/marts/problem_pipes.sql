-- 问题管网数据库：每个问题管段一行，含原因、长度、覆盖项目、整改状态与整改日期。
-- The problem-facility register: every problem segment with its reasons, length, project, status.
with reasons as (
    select
        segment_id,
        min(identified_on)                                                   as identified_on,
        max(case when reason = 'structural_grade' then 1 else 0 end) = 1     as reason_structural_grade,
        max(case when reason = 'ri_grade' then 1 else 0 end) = 1             as reason_ri_grade,
        max(case when reason = 'severe_misconnection' then 1 else 0 end) = 1 as reason_severe_misconnection,
        max(case when reason = 'capacity' then 1 else 0 end) = 1             as reason_capacity,
        {{ joined_distinct('reason') }}                                      as problem_reasons,
        -- rectified when every reason is resolved; the date is the last resolution
        case when count(resolved_on) = count(*) then max(resolved_on) end    as rectified_on
    from {{ ref('int_segment_problems') }}
    group by segment_id
),

projects as (
    select
        ps.segment_id,
        {{ joined_distinct('ps.project_id') }}                               as project_ids,
        -- the most advanced project covering the segment speaks for it
        min(case pr.status when 'accepted' then 1 when 'completed' then 2 when 'under_construction' then 3
                           when 'suspended' then 4 when 'planning' then 5 else 6 end) as best_status_rank
    from {{ ref('int_project_segments') }} as ps
    inner join {{ ref('stg_projects__upgrades') }} as pr on pr.project_id = ps.project_id
    group by ps.segment_id
)

select
    r.segment_id,
    s.district_code,
    s.scope,
    s.pipe_category,
    s.length_m,
    s.diameter_mm,
    s.material,
    s.structural_grade,
    s.ri_grade,
    s.functional_grade,
    r.reason_structural_grade,
    r.reason_ri_grade,
    r.reason_severe_misconnection,
    r.reason_capacity,
    r.problem_reasons,
    r.identified_on,
    pj.project_ids,
    case pj.best_status_rank when 1 then 'accepted' when 2 then 'completed' when 3 then 'under_construction'
                             when 4 then 'suspended' when 5 then 'planning' end as project_status,
    case
        when r.rectified_on is not null and r.rectified_on <= {{ reporting_date() }} then 'rectified'
        when pj.best_status_rank <= 3 then 'in_progress'
        else 'open'
    end                                                       as status,
    case when r.rectified_on <= {{ reporting_date() }} then r.rectified_on end as rectified_on,
    s.downstream_plant_id
from reasons as r
inner join {{ ref('pipe_segments') }} as s on s.segment_id = r.segment_id
left join projects as pj on pj.segment_id = r.segment_id
