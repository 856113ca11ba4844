{#-
  满管过流能力（曼宁公式）与上游许可排水量之比。
  Q = (1/n)·A·R^(2/3)·S^(1/2) (m³/s), full pipe: circular A = πD²/4, R = D/4; box culvert A = B·H,
  R = B·H / (2(B+H)). n from seed manning_roughness by material (unknown material: 0.014, concrete).
  S is the fall along the flow per metre from the invert elevations; no capacity is computed when the
  size, the inverts or a positive slope is missing (capacity_note says which).
  load_share = upstream permitted m³/d ÷ full capacity in m³/d (average permitted flow, no peak factor);
  above var capacity_share_threshold the segment is a 能力不足 candidate.
-#}
with segments as (
    select
        n.segment_id,
        n.slope,
        p.diameter_mm,
        p.box_width_mm,
        p.box_height_mm,
        p.material,
        coalesce(r.manning_n, 0.014)                                    as manning_n,
        case
            when p.diameter_mm > 0 then pi() * power(p.diameter_mm / 1000.0, 2) / 4
            when p.box_width_mm > 0 and p.box_height_mm > 0
                then (p.box_width_mm / 1000.0) * (p.box_height_mm / 1000.0)
        end                                                             as area_m2,
        case
            when p.diameter_mm > 0 then p.diameter_mm / 1000.0 / 4
            when p.box_width_mm > 0 and p.box_height_mm > 0
                then (p.box_width_mm / 1000.0) * (p.box_height_mm / 1000.0)
                     / (2 * (p.box_width_mm + p.box_height_mm) / 1000.0)
        end                                                             as hydraulic_radius_m
    from {{ ref('int_segment_network') }} as n
    inner join {{ ref('stg_census__pipes') }} as p on p.segment_id = n.segment_id
    left join {{ ref('manning_roughness') }} as r on r.material = p.material
    where n.pipe_category in ('sewage', 'combined')
),

capacity as (
    select
        *,
        case
            when area_m2 is not null and slope > 0
            then (1.0 / manning_n) * area_m2 * power(hydraulic_radius_m, 2.0 / 3.0) * sqrt(slope)
        end as q_full_m3s,
        case
            when area_m2 is null then 'no_size'
            when slope is null then 'no_invert'
            when slope <= 0 then 'no_fall'
        end as capacity_note
    from segments
)

select
    c.segment_id,
    c.material,
    c.manning_n,
    c.slope,
    round(c.area_m2, 6)                                    as area_m2,
    round(c.q_full_m3s, 6)                                 as q_full_m3s,
    round(c.q_full_m3s * 86400, 3)                         as q_full_m3d,
    coalesce(u.upstream_permitted_m3d, 0)                  as upstream_permitted_m3d,
    coalesce(u.upstream_permits, 0)                        as upstream_permits,
    case when c.q_full_m3s > 0
         then round(coalesce(u.upstream_permitted_m3d, 0) / (c.q_full_m3s * 86400), 4) end as load_share,
    coalesce(
        coalesce(u.upstream_permitted_m3d, 0) / (c.q_full_m3s * 86400) > {{ var('capacity_share_threshold') }},
        false
    )                                                      as is_capacity_candidate,
    c.capacity_note
from capacity as c
left join {{ ref('int_segment_upstream_load') }} as u on u.segment_id = c.segment_id
