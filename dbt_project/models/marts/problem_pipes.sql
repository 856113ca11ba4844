{#-
  问题管网数据库：每个问题管段一行，含原因、优先级（1 直排口，2 结构/修复指数 IV 级，3 其他）、覆盖项目、状态与日期。
  状态（int_segment_problem_status，唯一的计算处）：rectified 对症工程已验收；awaiting_acceptance 已完工待验收；
  re_graded 其后 CCTV 复评为 I–II 级（不是工程整改）；in_progress 对症工程在建；open 未整改。
  能力不足候选未经核实不列入（见 capacity_screening）。
  The problem register: reasons, priority, covering projects, status and its dates. Capacity candidates are
  not in it until verified.
-#}
with projects as (
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
    st.segment_id,
    s.district_code,
    s.scope,
    s.pipe_category,
    s.length_m,
    s.diameter_mm,
    s.material,
    s.structural_grade,
    s.ri_grade,
    s.functional_grade,
    st.priority,
    st.reason_direct_discharge,
    st.reason_structural_grade,
    st.reason_ri_grade,
    st.reason_severe_misconnection,
    st.problem_reasons,
    st.identified_on,
    pj.project_ids,
    case pj.best_status_rank when 1 then 'accepted' when 2 then 'completed' when 3 then 'under_construction'
                             when 4 then 'suspended' when 5 then 'planning' end as project_status,
    st.status,
    st.rectified_on,
    st.regraded_on,
    st.works_completed_on,
    s.downstream_plant_id
from {{ ref('int_segment_problem_status') }} as st
inner join {{ ref('pipe_segments') }} as s on s.segment_id = st.segment_id
left join projects as pj on pj.segment_id = st.segment_id
