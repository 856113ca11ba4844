{#-
  管网环路：定向后的管网中能回到自身的检查井（强连通分量的成员），全部遍历用 macro reachable：
  1. 从终点井（有来水、无出流管段）逆流追踪，得到“能流到某个终点”的检查井；
  2. 候选 = 有两条及以上出流管段的分叉井 + 有出流却流不到任何终点的检查井（困在环里或流入环）；
     没有分叉的环上每个井都流不到终点，有分叉的环必含分叉井，所以候选覆盖所有环；
  3. 从每个候选沿流向追踪，候选的下游邻居能回到候选本身则该候选在环上；
  4. 环的成员 = 该候选下游可达且逆流也可达（能回到候选）的井。
  Cycle members of the oriented network (all pipes), set-based with macro reachable (steps above);
  cycle_id is the smallest manhole ID of the cycle.
-#}
with edges as (
    select from_manhole_id, to_manhole_id from {{ ref('int_network_edges') }}
),

out_degree as (
    select from_manhole_id as manhole_id, count(*) as n_out from edges group by from_manhole_id
),

terminals as (
    select distinct e.to_manhole_id as origin_id, e.to_manhole_id as node_id
    from edges as e
    left join out_degree as o on o.manhole_id = e.to_manhole_id
    where o.manhole_id is null
),

drains_to_terminal as (
    select distinct node_id as manhole_id
    from {{ reachable('select origin_id, node_id from terminals',
                      'select to_manhole_id as from_id, from_manhole_id as to_id from edges') }} as r
),

candidates as (
    select manhole_id from out_degree where n_out >= 2
    union
    select o.manhole_id
    from out_degree as o
    left join drains_to_terminal as d on d.manhole_id = o.manhole_id
    where d.manhole_id is null
),

candidate_children as (
    -- start one step downstream, so that reaching the candidate itself means a cycle
    select c.manhole_id as origin_id, e.to_manhole_id as node_id
    from candidates as c
    inner join edges as e on e.from_manhole_id = c.manhole_id
),

downstream as (
    select origin_id, node_id
    from {{ reachable('select origin_id, node_id from candidate_children',
                      'select from_manhole_id as from_id, to_manhole_id as to_id from edges') }} as r
),

cyclic_origins as (
    select distinct origin_id from downstream where origin_id = node_id
),

upstream as (
    select origin_id, node_id
    from {{ reachable('select origin_id, origin_id as node_id from cyclic_origins',
                      'select to_manhole_id as from_id, from_manhole_id as to_id from edges') }} as r
),

members as (
    select d.origin_id, d.node_id as manhole_id, min(d.node_id) over (partition by d.origin_id) as cycle_id
    from downstream as d
    inner join upstream as u on u.origin_id = d.origin_id and u.node_id = d.node_id
)

select
    manhole_id,
    min(cycle_id)                                            as cycle_id,
    count(*) over (partition by min(cycle_id))               as cycle_size
from members
group by manhole_id
