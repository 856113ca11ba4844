{#-
  检查井 → 出口：沿定向后的全部管段（含雨水管）逆流而上，从每个出口（int_network_outlets）追踪到其上游检查井
  （macro reachable）。一井多出口时多行（分叉、溢流）。
  Manhole → outlet: every outlet of int_network_outlets walked upstream over all oriented pipes (storm
  included), by macro reachable. A manhole reaching several outlets (bifurcation, overflow) has a row each.
-#}
with edges as (
    select to_manhole_id as from_id, from_manhole_id as to_id from {{ ref('int_network_edges') }}
),

outlets as (
    select manhole_id as origin_id, manhole_id as node_id from {{ ref('int_network_outlets') }}
),

upstream as (
    select origin_id as outlet_id, node_id as manhole_id
    from {{ reachable('select origin_id, node_id from outlets', 'select from_id, to_id from edges') }} as r
)

select
    u.manhole_id,
    u.outlet_id,
    o.outlet_kind,
    o.plant_id
from upstream as u
inner join {{ ref('int_network_outlets') }} as o on o.manhole_id = u.outlet_id
