-- 管段（当前版本）：类型化，管段编号为键。Census pipe segments, current version, typed.
select
    cast(segment_id as varchar)          as segment_id,
    cast(start_manhole_id as varchar)    as start_manhole_id,
    cast(end_manhole_id as varchar)      as end_manhole_id,
    cast(pipe_category as varchar)       as pipe_category,
    cast(diameter_mm as integer)         as diameter_mm,
    cast(box_width_mm as integer)        as box_width_mm,
    cast(box_height_mm as integer)       as box_height_mm,
    -- a B×H size is a box culvert whatever the 断面形式 cell said
    case when box_width_mm is not null then 'rectangular'
         else coalesce(cast(section_shape as varchar), 'circular') end as section_shape,
    cast(material as varchar)            as material,
    cast(install_year as integer)        as install_year,
    cast(start_invert_m as double)       as start_invert_m,
    cast(end_invert_m as double)         as end_invert_m,
    cast(length_m as double)             as length_m,
    cast(road_name as varchar)           as road_name,
    cast(scope as varchar)               as scope,
    cast(district_code as varchar)       as district_code,
    cast(owner_unit as varchar)          as owner_unit,
    cast(area_importance as varchar)     as area_importance,
    cast(soil_type as varchar)           as soil_type,
    cast(data_source as varchar)         as data_source,
    cast(reported_on as date)            as reported_on,
    geometry,
    _source_file,
    _source_row
from {{ source('raw', 'census_pipes_current') }}
