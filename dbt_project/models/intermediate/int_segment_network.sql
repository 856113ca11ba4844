{#-
  管段在管网中的位置：定向后的上下游检查井、坡度与坡度类别（倒坡）、最终流入的污水处理厂（污水/合流管）、
  下游出口（任何类别），以及直排口：终点是排放口的污水管或合流管（污水未经处理直接排入水体）。
  Each census segment in the oriented network: ends, slope and slope class (adverse = 倒坡), the plant it
  drains to (sewage/combined pipes), its downstream outlet (any category), and whether it is a direct
  discharge (直排口): a sewage or combined pipe whose downstream end is an outfall.
-#}
with plant_of_manhole as (
    select
        manhole_id,
        min(plant_id)                    as plant_id,
        count(distinct plant_id)         as n_plants
    from {{ ref('int_manhole_plant') }}
    group by manhole_id
),

outlet_of_manhole as (
    select
        manhole_id,
        min(outlet_id)                   as outlet_id,
        -- a plant inlet first, then an outfall: where most of the flow is expected to go
        min(case outlet_kind when 'plant_inlet' then 1 when 'outfall' then 2 when 'pump_station' then 3 else 4 end)
                                         as outlet_rank,
        count(distinct outlet_id)        as n_outlets
    from {{ ref('int_manhole_outlets') }}
    group by manhole_id
),

outlet_pick as (
    select o.manhole_id, min(m.outlet_id) as outlet_id, o.n_outlets
    from outlet_of_manhole as o
    inner join {{ ref('int_manhole_outlets') }} as m
        on m.manhole_id = o.manhole_id
        and case m.outlet_kind when 'plant_inlet' then 1 when 'outfall' then 2 when 'pump_station' then 3 else 4 end
            = o.outlet_rank
    group by o.manhole_id, o.n_outlets
)

select
    e.segment_id,
    e.pipe_category,
    e.from_manhole_id,
    e.to_manhole_id,
    e.is_reversed,
    e.upstream_invert_m,
    e.downstream_invert_m,
    e.fall_m,
    e.slope,
    e.slope_class,
    -- a segment drains where its downstream manhole drains; storm pipes carry nobody's sewage to a plant
    case when e.pipe_category in ('sewage', 'combined') then p.plant_id end        as downstream_plant_id,
    coalesce(e.pipe_category in ('sewage', 'combined') and p.n_plants > 1, false)   as drains_to_several_plants,
    op.outlet_id                                                                   as downstream_outlet_id,
    x.outlet_kind                                                                  as downstream_outlet_kind,
    coalesce(op.n_outlets, 0)                                                      as downstream_outlets,
    coalesce(e.pipe_category in ('sewage', 'combined') and t.outlet_kind = 'outfall', false) as is_direct_discharge
from {{ ref('int_network_edges') }} as e
left join plant_of_manhole as p on p.manhole_id = e.to_manhole_id
left join outlet_pick as op on op.manhole_id = e.to_manhole_id
left join {{ ref('int_network_outlets') }} as x on x.manhole_id = op.outlet_id
left join {{ ref('int_network_outlets') }} as t on t.manhole_id = e.to_manhole_id
