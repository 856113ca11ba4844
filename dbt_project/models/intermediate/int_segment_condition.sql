{#-
  管段现状：结构性状况取最近一次能评定结构的检测（CCTV 优先；从未做过 CCTV 时取最近一次潜望镜 QV，标为初判），
  功能性状况取最近一次检测（任何方法）。声纳或 QV 的复查不会把 CCTV 评定的结构等级“重置”（CJJ 181-2012 §5、§6）。
  Current condition per segment. Structure: the latest CCTV inspection, or, for a segment never inspected
  by CCTV, the latest QV (preliminary); a later sonar or QV inspection never resets a CCTV structural grade
  (CJJ 181-2012 §5 sonar: cross-section profile, not a basis for structural defects; §6 periscope:
  preliminary). Function: the latest inspection of any method (latest date, then highest batch).
-#}
with scored as (
    select
        *,
        row_number() over (partition by segment_id order by inspected_on desc, batch_id desc) as recency,
        -- CCTV first, then QV; sonar never speaks for the structure
        case when assesses_structure
             then row_number() over (partition by segment_id, assesses_structure
                                     order by structural_is_preliminary, inspected_on desc, batch_id desc)
        end                                                                                as structural_recency,
        min(inspected_on) over (partition by segment_id)                                 as first_inspected_on,
        count(*) over (partition by segment_id)                                          as n_inspections
    from {{ ref('int_segment_inspections_scored') }}
),

latest as (
    select * from scored where recency = 1
),

structural as (
    select * from scored where structural_recency = 1
)

select
    l.segment_id,
    l.batch_id                  as last_batch_id,
    l.inspected_on              as last_inspected_on,
    l.first_inspected_on,
    l.n_inspections,
    l.method                    as last_method,
    s.inspected_on              as structural_inspected_on,
    s.method                    as structural_method,
    s.structural_is_preliminary,
    s.n_structural_defects,
    l.n_functional_defects,
    s.n_leakage_defects,
    s.structural_f,
    s.structural_grade,
    s.structural_density,
    s.structural_extent,
    l.functional_g,
    l.functional_grade,
    l.functional_density,
    l.functional_extent,
    s.k,
    s.e,
    s.t,
    s.ri,
    s.ri_grade,
    l.mi,
    l.mi_grade
from latest as l
left join structural as s on s.segment_id = l.segment_id
