{#-
  管网断头：没有出流管段且不是任何污水处理厂进厂井的检查井（通常是普查缺了下游一段管，或该管段被隔离），
  以及因此流不到任何厂的上游管网（从断头井沿逆流方向递归追踪，UNION 去重）。
  Dead ends: manholes with no outgoing sewage pipe that are no plant's inlet (usually a missing or
  quarantined downstream pipe), with the upstream network stranded behind each (cycle-safe recursive walk).
-#}
with recursive edges as (
    select segment_id, from_manhole_id, to_manhole_id, length_m, district_code
    from {{ ref('int_network_edges') }}
),

dead_ends as (
    select e.to_manhole_id as manhole_id, min(e.district_code) as district_code, min(e.segment_id) as inflow_segment_id
    from edges as e
    left join (select distinct from_manhole_id from edges) as o on o.from_manhole_id = e.to_manhole_id
    left join {{ ref('stg_plants__registry') }} as p on p.inlet_manhole_id = e.to_manhole_id
    where o.from_manhole_id is null and p.plant_id is null
    group by e.to_manhole_id
),

stranded (dead_end_id, manhole_id) as (
    select manhole_id, manhole_id from dead_ends
    union
    select s.dead_end_id, e.from_manhole_id
    from stranded as s
    inner join edges as e on e.to_manhole_id = s.manhole_id
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
    count(ss.segment_id)            as stranded_segments,
    coalesce(sum(ss.length_m), 0)   as stranded_length_m
from dead_ends as d
left join stranded_segments as ss on ss.dead_end_id = d.manhole_id
group by d.manhole_id, d.district_code, d.inflow_segment_id
