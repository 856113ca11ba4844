{#-
  管网环路：定向后的污水管网中能回到自身的检查井（强连通分量中的成员）。集合运算，不逐行循环：
  1. 从无出流管段的终点井沿逆流方向追踪，得到“能流到某个终点”的检查井；
  2. 候选 = 有两条及以上出流管段的分叉井 + 有出流却流不到任何终点的检查井（困在环里或流入环）；
     没有分叉的环上每个井都流不到终点，有分叉的环必含分叉井，所以候选覆盖所有环；
  3. 从每个候选向下游追踪（UNION 去重，环路自然终止），回到自身的候选在环上；
  4. 环的成员 = 该候选下游可达且能回到该候选的井（在下游可达集合内向上游追踪）。
  Cycle members of the oriented network, found set-based with cycle-safe recursive CTEs (see steps above);
  cycle_id is the smallest manhole ID of the cycle.
-#}
with recursive edges as (
    select from_manhole_id, to_manhole_id from {{ ref('int_network_edges') }}
),

out_degree as (
    select from_manhole_id as manhole_id, count(*) as n_out from edges group by from_manhole_id
),

terminals as (
    select distinct e.to_manhole_id as manhole_id
    from edges as e
    left join out_degree as o on o.manhole_id = e.to_manhole_id
    where o.manhole_id is null
),

drains_to_terminal (manhole_id) as (
    select manhole_id from terminals
    union
    select e.from_manhole_id
    from drains_to_terminal as d
    inner join edges as e on e.to_manhole_id = d.manhole_id
),

candidates as (
    select manhole_id from out_degree where n_out >= 2
    union
    select o.manhole_id
    from out_degree as o
    left join drains_to_terminal as d on d.manhole_id = o.manhole_id
    where d.manhole_id is null
),

reach (origin_id, manhole_id) as (
    select e.from_manhole_id, e.to_manhole_id
    from edges as e
    inner join candidates as c on c.manhole_id = e.from_manhole_id
    union
    select r.origin_id, e.to_manhole_id
    from reach as r
    inner join edges as e on e.from_manhole_id = r.manhole_id
),

cyclic_origins as (
    select distinct origin_id from reach where origin_id = manhole_id
),

reaching_back (origin_id, manhole_id) as (
    select o.origin_id, o.origin_id from cyclic_origins as o
    union
    select b.origin_id, e.from_manhole_id
    from reaching_back as b
    inner join edges as e on e.to_manhole_id = b.manhole_id
    inner join reach as r on r.origin_id = b.origin_id and r.manhole_id = e.from_manhole_id
),

members as (
    select origin_id, manhole_id, min(manhole_id) over (partition by origin_id) as cycle_id
    from reaching_back
)

select
    manhole_id,
    min(cycle_id)                                            as cycle_id,
    count(*) over (partition by min(cycle_id))               as cycle_size
from members
group by manhole_id
