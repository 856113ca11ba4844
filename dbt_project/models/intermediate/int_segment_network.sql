-- 管段在污水管网中的位置：定向后的上下游检查井、坡度、最终流入的污水处理厂。
-- Each sewage/combined segment with its oriented ends, slope and the plant it drains to.
with plant_of_manhole as (
    select
        manhole_id,
        min(plant_id)                    as plant_id,
        count(distinct plant_id)         as n_plants
    from {{ ref('int_manhole_plant') }}
    group by manhole_id
)

select
    e.segment_id,
    e.from_manhole_id,
    e.to_manhole_id,
    e.is_reversed,
    e.upstream_invert_m,
    e.downstream_invert_m,
    e.slope,
    -- a segment drains where its downstream manhole drains
    p.plant_id                         as downstream_plant_id,
    coalesce(p.n_plants > 1, false)    as drains_to_several_plants
from {{ ref('int_network_edges') }} as e
left join plant_of_manhole as p on p.manhole_id = e.to_manhole_id
