-- 污水处理厂名录（当前版本）。Treatment plant registry, current version.
select
    cast(plant_id as varchar)            as plant_id,
    cast(plant_name as varchar)          as plant_name,
    cast(district_code as varchar)       as district_code,
    cast(plant_type as varchar)          as plant_type,
    cast(design_capacity_m3d as double)  as design_capacity_m3d,
    cast(standard as varchar)            as standard,
    cast(standard_effective_from as date) as standard_effective_from,
    cast(commissioned_on as date)        as commissioned_on,
    cast(inlet_mn as varchar)            as inlet_mn,
    cast(outlet_mn as varchar)           as outlet_mn,
    cast(inlet_manhole_id as varchar)    as inlet_manhole_id,
    cast(longitude as double)            as longitude,
    cast(latitude as double)             as latitude,
    _source_file,
    _source_row
from {{ source('raw', 'plants_current') }}
