{{ config(pre_hook="{{ load_spatial() }}") }}
{#-
  污水处理厂所在区县：名录报送了区县就用报送值；否则取进厂检查井（普查当前版本）的区县；再否则按经纬度取 1 km 内最近的
  普查检查井的区县（经纬度为 CGCS2000 EPSG:4490，换算到仓库坐标 EPSG:4549 后计算距离）。
  district_source：reported / inlet_manhole / coordinates；都没有时为空。
  District of a plant: as reported; else its inlet manhole's; else that of the nearest census manhole within
  1 km of its coordinates (EPSG:4490 lon/lat, measured in the store CRS EPSG:4549).
-#}
with plants as (
    select * from {{ ref('stg_plants__registry') }}
),

manholes as (
    select manhole_id, district_code, geometry from {{ ref('stg_census__manholes') }}
    where district_code is not null
),

by_inlet as (
    select p.plant_id, m.district_code
    from plants as p
    inner join manholes as m on m.manhole_id = p.inlet_manhole_id
),

unplaced as (
    select p.plant_id, p.longitude, p.latitude
    from plants as p
    left join by_inlet as i on i.plant_id = p.plant_id
    where p.district_code is null and i.plant_id is null
      and p.longitude is not null and p.latitude is not null
),

near as (
    select u.plant_id, m.district_code,
           {{ distance_to_lonlat('m.geometry', 'u.longitude', 'u.latitude') }} as distance_m
    from unplaced as u
    cross join manholes as m
),

by_coordinates as (
    select plant_id, district_code
    from (
        select plant_id, district_code,
               row_number() over (partition by plant_id order by distance_m, district_code) as nth
        from near
        where distance_m <= 1000
    ) as ranked
    where nth = 1
)

select
    p.plant_id,
    p.plant_name,
    coalesce(p.district_code, i.district_code, c.district_code)   as district_code,
    case when p.district_code is not null then 'reported'
         when i.district_code is not null then 'inlet_manhole'
         when c.district_code is not null then 'coordinates' end  as district_source,
    p.plant_type,
    p.design_capacity_m3d,
    p.standard,
    p.commissioned_on,
    p.inlet_mn,
    p.outlet_mn,
    p.inlet_manhole_id,
    p.longitude,
    p.latitude,
    p._source_file,
    p._source_row
from plants as p
left join by_inlet as i on i.plant_id = p.plant_id
left join by_coordinates as c on c.plant_id = p.plant_id
