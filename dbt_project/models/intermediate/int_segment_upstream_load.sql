{#-
  管段上游的许可排水量：从每个有有效排水许可的接驳井沿定向后的污水/合流管向下游追踪（macro reachable），
  每个被经过的管段累加该井的许可排水量。分叉处两支都计入（偏保守）。
  Permitted discharge upstream of each sewage/combined segment: walk downstream from every connection
  manhole with valid drainage permits (macro reachable) and add its permitted volume to every segment
  passed. At a bifurcation both branches carry the full volume (conservative).
-#}
with edges as (
    select segment_id, from_manhole_id, to_manhole_id
    from {{ ref('int_network_edges') }}
    where pipe_category in ('sewage', 'combined')
),

sources as (
    select
        connection_manhole_id          as manhole_id,
        {{ exact_sum('permitted_volume_m3d') }} as permitted_volume_m3d,
        count(*)                       as n_permits
    from {{ ref('int_valid_drainage_permits') }}
    where connection_manhole_id is not null
    group by connection_manhole_id
),

downstream as (
    select origin_id as origin_manhole_id, node_id as manhole_id
    from {{ reachable('select manhole_id as origin_id, manhole_id as node_id from sources',
                      'select from_manhole_id as from_id, to_manhole_id as to_id from edges') }} as r
),

passed as (
    -- the segments leaving each reached manhole carry the origin's flow
    select distinct d.origin_manhole_id, e.segment_id
    from downstream as d
    inner join edges as e on e.from_manhole_id = d.manhole_id
)

select
    p.segment_id,
    round({{ exact_sum('s.permitted_volume_m3d') }}, 3) as upstream_permitted_m3d,
    sum(s.n_permits)              as upstream_permits,
    count(*)                      as upstream_connection_manholes
from passed as p
inner join sources as s on s.manhole_id = p.origin_manhole_id
group by p.segment_id
