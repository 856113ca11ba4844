{{ config(pre_hook="load spatial") }}
{#-
  地图点要素：污水处理厂（名录经纬度，EPSG:4490 → EPSG:4549）与直排口等点位，几何统一为 EPSG:4549（米），
  与 pipe_segments 的管段几何同一坐标系，供报告地图与“一张图”使用。
  Point layers for maps: treatment plants (registry lon/lat transformed to EPSG:4549) and, as the marts provide
  them, other points; geometry in the warehouse CRS like pipe_segments.
-#}
select
    'plant'                                                          as point_kind,
    '污水处理厂'                                                     as point_kind_zh,
    plant_id                                                         as point_id,
    plant_name                                                       as point_name,
    district_code,
    plant_type                                                       as category,
    design_capacity_m3d                                              as size_value,
    longitude,
    latitude,
    {{ point_4549_from_lonlat('longitude', 'latitude') }}            as geometry
from {{ ref('stg_plants__registry') }}
where longitude is not null and latitude is not null
