{#-
  检查井 → 污水处理厂：从每座厂的进厂检查井沿管网逆流向上游追踪（递归CTE），得到每个检查井最终流入的厂。
  用 UNION（去重）而非 UNION ALL：同一 (检查井, 厂) 只出现一次，遇到环路时递归自然终止，集合运算，无逐行循环。
  Manhole → plant: walk upstream from each plant's inlet manhole over the oriented network. The recursive
  CTE uses UNION (distinct), so a (manhole, plant) pair is produced once and cycles terminate the walk.
  A manhole that drains to two plants (a bifurcation) appears twice; network_anomalies reports it.
-#}
with recursive edges as (
    select from_manhole_id, to_manhole_id from {{ ref('int_network_edges') }}
),

plants as (
    select plant_id, inlet_manhole_id
    from {{ ref('stg_plants__registry') }}
    where inlet_manhole_id is not null
),

upstream (manhole_id, plant_id) as (
    select inlet_manhole_id, plant_id from plants
    union
    select e.from_manhole_id, u.plant_id
    from upstream as u
    inner join edges as e on e.to_manhole_id = u.manhole_id
)

select
    u.manhole_id,
    u.plant_id,
    count(*) over (partition by u.manhole_id) > 1 as drains_to_several_plants
from upstream as u
