{#-
  管网出口（定向与追踪的终点）：污水处理厂进厂井、排放口，以及普查中没有出流管段的泵站和调蓄池
  （压力管/水泵不在重力管网普查中，污水在此离开普查管网）。
  Outlets of the network, where flow leaves the census: plant inlet manholes (the registry's inlets and
  manholes typed 进厂井), outfalls (排放口), and pumping stations / storage tanks that no census pipe
  leaves (their force mains or pumps are not gravity pipes of the census). A pumping station with an
  outgoing census pipe is a lift station the flow passes through: an ordinary node, not an outlet.
  One row per manhole; a registry inlet missing from the manhole census is still an outlet.
-#}
with manholes as (
    select manhole_id, manhole_type, district_code from {{ ref('stg_census__manholes') }}
),

plants as (
    select inlet_manhole_id as manhole_id, min(plant_id) as plant_id, min(district_code) as district_code
    from {{ ref('stg_plants__registry') }}
    where inlet_manhole_id is not null
    group by inlet_manhole_id
),

drawn_outflow as (
    select distinct start_manhole_id as manhole_id
    from {{ ref('stg_census__pipes') }}
    where start_manhole_id is not null and end_manhole_id is not null and start_manhole_id <> end_manhole_id
),

typed as (
    select
        m.manhole_id,
        m.district_code,
        case
            when m.manhole_type = 'plant_inlet' then 'plant_inlet'
            when m.manhole_type = 'outfall' then 'outfall'
            when m.manhole_type in ('pump_station', 'storage') and o.manhole_id is null then m.manhole_type
        end as outlet_kind
    from manholes as m
    left join drawn_outflow as o on o.manhole_id = m.manhole_id
)

select
    coalesce(p.manhole_id, t.manhole_id)                      as manhole_id,
    case when p.manhole_id is not null then 'plant_inlet' else t.outlet_kind end as outlet_kind,
    p.plant_id,
    coalesce(t.district_code, p.district_code)                as district_code
from (select * from typed where outlet_kind is not null) as t
full outer join plants as p on p.manhole_id = t.manhole_id
