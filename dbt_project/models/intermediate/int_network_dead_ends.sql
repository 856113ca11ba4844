{#-
  管网断头：有来水、没有出流管段、又不是出口（进厂井、排放口、终端泵站/调蓄池）的检查井——通常是普查缺了
  下游一段管，或该管段被隔离；以及其后滞留、流不到任何出口的上游管段（macro reachable 逆流追踪）。
  Dead ends: manholes with inflow, no outgoing pipe and no outlet (usually a missing or quarantined
  downstream pipe), with the upstream network stranded behind each (macro reachable, walking upstream).
-#}
with edges as (
    select segment_id, from_manhole_id, to_manhole_id, length_m, district_code, pipe_category
    from {{ ref('int_network_edges') }}
),

dead_ends as (
    select
        e.to_manhole_id                as manhole_id,
        min(e.district_code)           as district_code,
        min(e.segment_id)              as inflow_segment_id,
        {{ joined_distinct('e.pipe_category') }} as inflow_categories
    from edges as e
    left join (select distinct from_manhole_id from edges) as o on o.from_manhole_id = e.to_manhole_id
    left join {{ ref('int_network_outlets') }} as x on x.manhole_id = e.to_manhole_id
    where o.from_manhole_id is null and x.manhole_id is null
    group by e.to_manhole_id
),

stranded as (
    select origin_id as dead_end_id, node_id as manhole_id
    from {{ reachable('select manhole_id as origin_id, manhole_id as node_id from dead_ends',
                      'select to_manhole_id as from_id, from_manhole_id as to_id from edges') }} as r
),

stranded_segments as (
    select distinct s.dead_end_id, e.segment_id, e.length_m
    from stranded as s
    inner join edges as e on e.to_manhole_id = s.manhole_id
)

select
    d.manhole_id,
    d.district_code,
    d.inflow_segment_id,
    d.inflow_categories,
    count(ss.segment_id)                      as stranded_segments,
    round(coalesce({{ exact_sum('ss.length_m') }}, 0), 2)   as stranded_length_m
from dead_ends as d
left join stranded_segments as ss on ss.dead_end_id = d.manhole_id
group by d.manhole_id, d.district_code, d.inflow_segment_id, d.inflow_categories
