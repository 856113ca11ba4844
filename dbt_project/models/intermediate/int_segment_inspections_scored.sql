{#-
  CJJ 181-2012 管道评估 —— 全项目唯一的公式实现，所有专题表都从这里取值。
  The one implementation of CJJ 181-2012 (DOMAIN.md §6); every mart reads its scores from here.
  Grain: one row per inspection of a segment (batch_id, segment_id).

  Per class (structural / functional), on the defects of one inspection, ordered by position:
  1. Merge (CJJ 181-2012 §8.1: 管道纵向 1 m 范围内两个以上缺陷同时出现时，分值应叠加计算；叠加计算的结果超过
     10 分时，应按 10 分计): a defect whose clear distance to the end of the previous defect (position −
     previous position − previous length, rounded to the millimetre) is ≤ 1.0 m joins that defect's group;
     a group counts as ONE defect whose points are the SUM of its members' points, capped at 10, and spans
     from its first start to its last end. (The ≤ 1.0 m band is the one n1 (> 1.5 m) and n2 (1.0–1.5 m]
     leave; a chain of close defects is one group: docs/decisions.md.)
  0. Methods (CJJ 181-2012 §5 声纳检测, §6 管道潜望镜检测): sonar sees the cross-section under water,
     not the pipe wall, so a sonar inspection gives no structural assessment (structural columns NULL,
     its structural codes ignored); QV (periscope) is a preliminary look: structural_is_preliminary.
     CCTV is the structural inspection. Which inspection speaks for a segment is int_segment_condition's.
  2. Spacing of the (merged) defects: the clear distance to the nearest neighbour of the same class;
     > 1.5 m (or no neighbour) → n1, (1.0, 1.5] m → n2 (weighted by α = 1.1).
  3. S = (ΣP_i1 + α·ΣP_i2) / n, F = max(Smax, S); Y and G alike for functional defects.
     A segment inspected without defects has F = G = 0.
  4. Density SM = (ΣP_i1·L_i1 + α·ΣP_i2·L_i2) / (S·L); a defect shorter than 1 m counts as 1 m;
     L is the census length of the segment (the inspected length when the census has none).
  5. K, E, T from the census (seed cjj181_factors): K and E are 0 when F < 4, T is 0 when F = 0;
     RI = 0.7F + 0.1K + 0.05E + 0.15T, MI = 0.8G + 0.15K + 0.05E.
  6. Grades from seed cjj181_grade_thresholds. Indices are rounded to 4 decimals before grading so that
     floating-point noise (1.1 × 10 = 11.000000000000002) never moves a segment across a boundary.
-#}
{%- set alpha = 1.1 -%}
{%- set merge_within_m = 1.0 -%}
{%- set n2_within_m = 1.5 -%}
{%- set merged_points_cap = 10 -%}

with inspections as (
    select
        batch_id,
        segment_id,
        max(inspected_on)        as inspected_on,
        min(method)              as method,
        max(inspected_length_m)  as inspected_length_m
    from {{ ref('stg_inspections__defects') }}
    group by batch_id, segment_id
),

methods as (
    select
        *,
        coalesce(method in ('CCTV', 'QV'), false) as assesses_structure,
        coalesce(method = 'QV', false)            as structural_is_preliminary
    from inspections
),

defects as (
    select
        d.batch_id,
        d.segment_id,
        s.defect_class,
        d.defect_code,
        s.points,
        d.defect_position_m                                       as start_m,
        d.defect_position_m + coalesce(d.defect_length_m, 0)      as end_m
    from {{ ref('stg_inspections__defects') }} as d
    -- a code/grade pair the standard does not have is quarantined at ingestion; the inner join keeps
    -- any that slipped through out of the scores (a data test on the staging model reports them)
    inner join {{ ref('cjj181_defect_scores') }} as s
        on s.defect_code = d.defect_code and s.grade = d.defect_grade
    where d.defect_code is not null
      -- a sonar inspection has no structural findings (see the header)
      and not (s.defect_class = 'structural' and coalesce(d.method, '') = 'SONAR')
),

ordered as (
    select
        *,
        max(end_m) over (
            partition by batch_id, segment_id, defect_class
            order by start_m, end_m, defect_code
            rows between unbounded preceding and 1 preceding
        ) as previous_end_m
    from defects
),

grouped as (
    select
        *,
        sum(case when previous_end_m is null or round(start_m - previous_end_m, 3) > {{ merge_within_m }} then 1 else 0 end)
            over (
                partition by batch_id, segment_id, defect_class
                order by start_m, end_m, defect_code
                rows between unbounded preceding and current row
            ) as group_no
    from ordered
),

merged as (
    select
        batch_id,
        segment_id,
        defect_class,
        group_no,
        least({{ exact_sum('points') }}, {{ merged_points_cap }}) as points,
        min(start_m) as start_m,
        max(end_m)   as end_m,
        count(*)     as n_observations,
        sum(case when defect_code = 'SL' then 1 else 0 end) as n_leakage
    from grouped
    group by batch_id, segment_id, defect_class, group_no
),

spaced as (
    select
        *,
        round(start_m - lag(end_m) over w, 3)  as gap_before_m,
        round(lead(start_m) over w - end_m, 3) as gap_after_m
    from merged
    window w as (partition by batch_id, segment_id, defect_class order by start_m)
),

classified as (
    select
        *,
        case
            when least(coalesce(gap_before_m, gap_after_m), coalesce(gap_after_m, gap_before_m)) <= {{ n2_within_m }}
                then 'n2'
            else 'n1'
        end as spacing_class,
        greatest(end_m - start_m, 1.0) as length_for_density_m
    from spaced
),

per_class as (
    select
        batch_id,
        segment_id,
        defect_class,
        count(*)                                                      as n_defects,
        sum(n_observations)                                           as n_observations,
        sum(n_leakage)                                                as n_leakage,
        max(points)                                                   as max_points,
        ({{ exact_sum("case when spacing_class = 'n1' then points else 0 end") }}
         + {{ alpha }} * {{ exact_sum("case when spacing_class = 'n2' then points else 0 end") }}) / count(*)
                                                                      as mean_score,
        {{ exact_sum("case when spacing_class = 'n1' then points * length_for_density_m else 0 end") }}
         + {{ alpha }} * {{ exact_sum("case when spacing_class = 'n2' then points * length_for_density_m else 0 end") }}
                                                                      as weighted_length
    from classified
    group by batch_id, segment_id, defect_class
),

pipes as (
    select
        segment_id,
        length_m,
        area_importance,
        soil_type,
        -- CJJ 181 E is defined on the diameter D; a box culvert uses its larger side (documented)
        coalesce(diameter_mm, greatest(box_width_mm, box_height_mm)) as size_mm
    from {{ ref('stg_census__pipes') }}
),

scored as (
    select
        i.batch_id,
        i.segment_id,
        i.inspected_on,
        i.method,
        i.inspected_length_m,
        i.assesses_structure,
        i.structural_is_preliminary,
        coalesce(p.length_m, i.inspected_length_m)                   as assessed_length_m,
        p.size_mm,
        p.area_importance,
        p.soil_type,
        case when i.assesses_structure then coalesce(st.n_defects, 0) end as n_structural_defects,
        coalesce(fn.n_defects, 0)                                     as n_functional_defects,
        coalesce(st.n_observations, 0) + coalesce(fn.n_observations, 0) as n_defect_observations,
        case when i.assesses_structure then coalesce(st.n_leakage, 0) end as n_leakage_defects,
        case when i.assesses_structure then round(coalesce(st.mean_score, 0), 4) end as structural_s,
        case when i.assesses_structure then coalesce(st.max_points, 0) end as structural_smax,
        case when i.assesses_structure
             then round(greatest(coalesce(st.max_points, 0), coalesce(st.mean_score, 0)), 4) end as structural_f,
        round(coalesce(fn.mean_score, 0), 4)                          as functional_y,
        coalesce(fn.max_points, 0)                                    as functional_ymax,
        round(greatest(coalesce(fn.max_points, 0), coalesce(fn.mean_score, 0)), 4) as functional_g,
        case when st.mean_score > 0 and coalesce(p.length_m, i.inspected_length_m) > 0
             then round(st.weighted_length / (st.mean_score * coalesce(p.length_m, i.inspected_length_m)), 4)
        end                                                           as structural_density,
        case when fn.mean_score > 0 and coalesce(p.length_m, i.inspected_length_m) > 0
             then round(fn.weighted_length / (fn.mean_score * coalesce(p.length_m, i.inspected_length_m)), 4)
        end                                                           as functional_density
    from methods as i
    left join pipes as p on p.segment_id = i.segment_id
    left join per_class as st
        on st.batch_id = i.batch_id and st.segment_id = i.segment_id and st.defect_class = 'structural'
    left join per_class as fn
        on fn.batch_id = i.batch_id and fn.segment_id = i.segment_id and fn.defect_class = 'functional'
),

factored as (
    select
        s.*,
        case when s.structural_f >= 4 then coalesce(k.factor_value, 0) else 0 end as k,
        case when s.structural_f >= 4 then coalesce(e.factor_value, 0) else 0 end as e,
        case when s.structural_f > 0 then coalesce(t.factor_value, 0) else 0 end  as t
    from scored as s
    left join {{ ref('cjj181_factors') }} as k
        on k.factor = 'K' and k.code = s.area_importance
    left join {{ ref('cjj181_factors') }} as e
        on e.factor = 'E'
        and {{ in_interval('s.size_mm', 'e.lower_mm', 'e.lower_inclusive', 'e.upper_mm', 'e.upper_inclusive') }}
    left join {{ ref('cjj181_factors') }} as t
        on t.factor = 'T' and t.code = s.soil_type
),

indexed as (
    select
        *,
        round(0.7 * structural_f + 0.1 * k + 0.05 * e + 0.15 * t, 4) as ri,
        round(0.8 * functional_g + 0.15 * k + 0.05 * e, 4)           as mi
    from factored
),

thresholds as (
    select * from {{ ref('cjj181_grade_thresholds') }}
)

select
    x.batch_id,
    x.segment_id,
    x.inspected_on,
    x.method,
    x.inspected_length_m,
    x.assesses_structure,
    x.structural_is_preliminary,
    x.assessed_length_m,
    x.n_structural_defects,
    x.n_functional_defects,
    x.n_defect_observations,
    x.n_leakage_defects,
    x.structural_s,
    x.structural_smax,
    x.structural_f,
    sg.grade  as structural_grade,
    x.structural_density,
    sd.grade  as structural_extent,
    x.functional_y,
    x.functional_ymax,
    x.functional_g,
    fg.grade  as functional_grade,
    x.functional_density,
    fd.grade  as functional_extent,
    x.k,
    x.e,
    x.t,
    x.ri,
    rg.grade  as ri_grade,
    x.mi,
    mg.grade  as mi_grade
from indexed as x
left join thresholds as sg
    on sg.scale = 'condition'
    and {{ in_interval('x.structural_f', 'sg.lower_bound', 'sg.lower_inclusive', 'sg.upper_bound', 'sg.upper_inclusive') }}
left join thresholds as fg
    on fg.scale = 'condition'
    and {{ in_interval('x.functional_g', 'fg.lower_bound', 'fg.lower_inclusive', 'fg.upper_bound', 'fg.upper_inclusive') }}
left join thresholds as rg
    on rg.scale = 'index'
    and {{ in_interval('x.ri', 'rg.lower_bound', 'rg.lower_inclusive', 'rg.upper_bound', 'rg.upper_inclusive') }}
left join thresholds as mg
    on mg.scale = 'index'
    and {{ in_interval('x.mi', 'mg.lower_bound', 'mg.lower_inclusive', 'mg.upper_bound', 'mg.upper_inclusive') }}
left join thresholds as sd
    on sd.scale = 'density'
    and {{ in_interval('x.structural_density', 'sd.lower_bound', 'sd.lower_inclusive', 'sd.upper_bound', 'sd.upper_inclusive') }}
left join thresholds as fd
    on fd.scale = 'density'
    and {{ in_interval('x.functional_density', 'fd.lower_bound', 'fd.lower_inclusive', 'fd.upper_bound', 'fd.upper_inclusive') }}
