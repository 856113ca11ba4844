-- 管段状况（CJJ 181-2012）：每个普查管段一行，未检测的管段评估列为空。
-- Pipe condition per census segment (CJJ 181-2012); assessment columns are NULL until inspected.
-- is_problem = 现为问题管段（在问题管网数据库中且尚未整改）；in_problem_register = 曾列入（含已整改）。
with problems as (
    select
        segment_id,
        {{ joined_distinct('reason') }} as problem_reasons,
        -- rectified when every reason is resolved (same rule as problem_pipes)
        case when count(resolved_on) = count(*) then max(resolved_on) end as rectified_on
    from {{ ref('int_segment_problems') }}
    group by segment_id
)

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
    p.length_m,
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
    pr.segment_id is not null                    as in_problem_register,
    pr.segment_id is not null
        and not coalesce(pr.rectified_on <= {{ reporting_date() }}, false) as is_problem,
    pr.problem_reasons,
    p.geometry
from {{ ref('stg_census__pipes') }} as p
left join {{ ref('int_segment_network') }} as n on n.segment_id = p.segment_id
left join {{ ref('int_segment_condition') }} as c on c.segment_id = p.segment_id
left join problems as pr on pr.segment_id = p.segment_id
