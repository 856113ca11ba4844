-- 管段现状：取每个管段最近一次检测的 CJJ 181 评估结果，并给出首次/最近检测日期。
-- Current condition per segment: the CJJ 181 result of its latest inspection (latest date, then batch).
with scored as (
    select
        *,
        row_number() over (partition by segment_id order by inspected_on desc, batch_id desc) as recency,
        min(inspected_on) over (partition by segment_id) as first_inspected_on,
        count(*) over (partition by segment_id)          as n_inspections
    from {{ ref('int_segment_inspections_scored') }}
)

select
    segment_id,
    batch_id            as last_batch_id,
    inspected_on        as last_inspected_on,
    first_inspected_on,
    n_inspections,
    method              as last_method,
    n_structural_defects,
    n_functional_defects,
    n_leakage_defects,
    structural_f,
    structural_grade,
    structural_density,
    structural_extent,
    functional_g,
    functional_grade,
    functional_density,
    functional_extent,
    k,
    e,
    t,
    ri,
    ri_grade,
    mi,
    mi_grade
from scored
where recency = 1
