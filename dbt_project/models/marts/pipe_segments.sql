-- 管段状况（CJJ 181-2012）：每个普查管段一行，未检测的管段评估列为空。结构性等级来自最近一次 CCTV（无 CCTV 时为 QV 初判），
-- 功能性等级来自最近一次检测（int_segment_condition）；定向、倒坡、出口、直排口来自 int_segment_network；
-- 问题状态来自 int_segment_problem_status（唯一的状态计算处）。
-- Pipe condition per census segment: structure from the latest CCTV (else QV, preliminary), function from the
-- latest inspection; orientation, slope class, outlet and direct discharge from the network; register status
-- from int_segment_problem_status. is_problem = in the register and neither rectified nor re-graded.
select
    p.segment_id,
    p.district_code,
    p.scope,
    p.pipe_category,
    p.pipe_category in ('sewage', 'combined')    as in_plan_scope,
    p.section_shape,
    p.diameter_mm,
    p.box_width_mm,
    p.box_height_mm,
    p.material,
    round(p.length_m, 2)                         as length_m,
    p.install_year,
    p.data_source,
    p.road_name,
    p.start_manhole_id,
    p.end_manhole_id,
    n.from_manhole_id,
    n.to_manhole_id,
    coalesce(n.is_reversed, false)               as is_reversed,
    n.slope,
    n.slope_class,
    n.downstream_plant_id,
    n.downstream_outlet_id,
    n.downstream_outlet_kind,
    coalesce(n.is_direct_discharge, false)       as is_direct_discharge,
    c.first_inspected_on,
    c.last_inspected_on,
    coalesce(c.n_inspections, 0)                 as n_inspections,
    c.last_method,
    c.structural_inspected_on,
    c.structural_method,
    c.structural_is_preliminary,
    c.n_structural_defects,
    c.n_functional_defects,
    c.n_leakage_defects,
    c.structural_f,
    c.structural_grade,
    c.structural_density,
    c.structural_extent,
    c.functional_g,
    c.functional_grade,
    c.functional_density,
    c.functional_extent,
    c.k,
    c.e,
    c.t,
    c.ri,
    c.ri_grade,
    c.mi,
    c.mi_grade,
    coalesce(cap.is_capacity_candidate, false)   as is_capacity_candidate,
    st.segment_id is not null                    as in_problem_register,
    coalesce(st.status not in ('rectified', 're_graded'), false) as is_problem,
    st.status                                    as problem_status,
    st.priority                                  as problem_priority,
    st.problem_reasons,
    p.geometry
from {{ ref('stg_census__pipes') }} as p
left join {{ ref('int_segment_network') }} as n on n.segment_id = p.segment_id
left join {{ ref('int_segment_condition') }} as c on c.segment_id = p.segment_id
left join {{ ref('int_segment_capacity') }} as cap on cap.segment_id = p.segment_id
left join {{ ref('int_segment_problem_status') }} as st on st.segment_id = p.segment_id
