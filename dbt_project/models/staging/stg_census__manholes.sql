-- 检查井（当前版本）。Census manholes, current version, typed.
select
    cast(manhole_id as varchar)          as manhole_id,
    cast(manhole_type as varchar)        as manhole_type,
    cast(ground_elevation_m as double)   as ground_elevation_m,
    cast(depth_m as double)              as depth_m,
    cast(road_name as varchar)           as road_name,
    cast(district_code as varchar)       as district_code,
    geometry,
    _source_file,
    _source_row
from {{ source('raw', 'census_manholes_current') }}
