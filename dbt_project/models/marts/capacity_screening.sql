{#-
  能力不足筛查：每个污水/合流管段一行，曼宁满管能力与上游有效排水许可量之比（见 int_segment_capacity）。
  只计入排水许可量（不含生活污水、不乘变化系数），结果为需核查的候选，不是水力模型结论。
  Capacity screening per sewage/combined segment: full-pipe capacity (Manning) against the permitted
  discharge traced upstream. Permits only, average flow, no peak factor: candidates to check, not a model.
-#}
select
    c.segment_id,
    p.district_code,
    p.scope,
    p.pipe_category,
    p.section_shape,
    p.diameter_mm,
    p.box_width_mm,
    p.box_height_mm,
    c.material,
    c.manning_n,
    round(c.slope, 6)                                  as slope,
    c.q_full_m3s,
    c.q_full_m3d,
    round(c.upstream_permitted_m3d, 2)                 as upstream_permitted_m3d,
    c.upstream_permits,
    c.load_share,
    {{ var('capacity_share_threshold') }}              as threshold_share,
    c.is_capacity_candidate,
    c.capacity_note,
    n.downstream_plant_id
from {{ ref('int_segment_capacity') }} as c
inner join {{ ref('stg_census__pipes') }} as p on p.segment_id = c.segment_id
left join {{ ref('int_segment_network') }} as n on n.segment_id = c.segment_id
