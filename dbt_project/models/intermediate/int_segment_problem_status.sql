{#-
  问题管网数据库中每个管段的状态——全项目唯一的计算处（pipe_segments、problem_pipes、district_progress 都读这里）。
  每个原因的解决：对症工程已验收（works）或其后 CCTV 复评为 I–II 级（regraded），取较早者；
  全部原因解决时管段解决，解决日期为最后一个原因的解决日期；只要有一个原因靠工程解决，管段记为“已整改”（rectified），
  全靠复评的记为“已复评”（re_graded，不是工程整改，也不计入整改率的分子和分母）；
  对症工程已完工但未验收的记为“待验收”（awaiting_acceptance，不计为已整改：《建设工程质量管理条例》第十六条，
  建设工程经验收合格的，方可交付使用）；有对症工程在建为 in_progress，否则 open。
  优先级：1 直排口；2 结构或修复指数 IV 级（立即修复）；3 其他。日期晚于报告日的事件不计。
  The one place the register's status is computed. A reason is resolved by accepted works that fix it or by a
  later CCTV re-grading to I–II, whichever comes first; the segment when all its reasons are (on the last
  date). Rectified = at least one reason resolved by works; re_graded = all by re-inspection (not works: kept
  out of the rectification KPI); awaiting_acceptance = the works are completed, not accepted; in_progress = a
  fixing project is under construction; else open. Events after the reporting date do not count.
-#}
{%- set as_of = reporting_date() -%}
with reasons as (
    select
        *,
        -- dates after the reporting date have not happened yet
        case when works_accepted_on <= {{ as_of }} then works_accepted_on end     as accepted_on,
        case when works_completed_on <= {{ as_of }} then works_completed_on end   as completed_on,
        case when regraded_on <= {{ as_of }} then regraded_on end                 as regraded_by_on
    from {{ ref('int_segment_problems') }}
    where identified_on <= {{ as_of }}
),

resolved as (
    select
        *,
        least(coalesce(accepted_on, regraded_by_on), coalesce(regraded_by_on, accepted_on))   as resolved_on,
        case when accepted_on is not null and (regraded_by_on is null or accepted_on <= regraded_by_on) then 'works'
             when regraded_by_on is not null then 'regraded' end                                 as resolved_by,
        least(coalesce(completed_on, regraded_by_on), coalesce(regraded_by_on, completed_on))  as finished_on
    from reasons
),

segments as (
    select
        segment_id,
        min(identified_on)                                                        as identified_on,
        {{ joined_distinct('reason') }}                                           as problem_reasons,
        max(case when reason = 'structural_grade' then 1 else 0 end) = 1          as reason_structural_grade,
        max(case when reason = 'ri_grade' then 1 else 0 end) = 1                  as reason_ri_grade,
        max(case when reason = 'severe_misconnection' then 1 else 0 end) = 1      as reason_severe_misconnection,
        max(case when reason = 'direct_discharge' then 1 else 0 end) = 1          as reason_direct_discharge,
        case
            when max(case when reason = 'direct_discharge' then 1 else 0 end) = 1 then 1
            when max(case when worst_grade_iv then 1 else 0 end) = 1 then 2
            else 3
        end                                                                       as priority,
        case when count(resolved_on) = count(*) then max(resolved_on) end         as resolved_on,
        max(case when resolved_by = 'works' then 1 else 0 end) = 1                as any_by_works,
        case when count(finished_on) = count(*) then max(finished_on) end         as finished_on
    from resolved
    group by segment_id
),

building as (
    -- a project of a fixing type under construction covering the segment
    select distinct ps.segment_id
    from {{ ref('int_project_segments') }} as ps
    inner join {{ ref('stg_projects__upgrades') }} as pr on pr.project_id = ps.project_id
    where pr.status = 'under_construction'
      and pr.project_type in ('repair', 'new_build', 'separation')
      and coalesce(pr.actual_start_on, {{ as_of }}) <= {{ as_of }}
)

select
    s.segment_id,
    s.identified_on,
    s.problem_reasons,
    s.reason_structural_grade,
    s.reason_ri_grade,
    s.reason_severe_misconnection,
    s.reason_direct_discharge,
    s.priority,
    case when s.resolved_on is not null and s.any_by_works then s.resolved_on end        as rectified_on,
    case when s.resolved_on is not null and not s.any_by_works then s.resolved_on end    as regraded_on,
    s.finished_on                                                                        as works_completed_on,
    case
        when s.resolved_on is not null and s.any_by_works then 'rectified'
        when s.resolved_on is not null then 're_graded'
        when s.finished_on is not null then 'awaiting_acceptance'
        when b.segment_id is not null then 'in_progress'
        else 'open'
    end                                                                                  as status,
    {{ as_of }}                                                                          as as_of
from segments as s
left join building as b on b.segment_id = s.segment_id
