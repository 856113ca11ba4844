-- 排污许可（当前版本）。Pollutant-discharge permits, current version.
select
    cast(permit_no as varchar)           as permit_no,
    cast(holder_name as varchar)         as holder_name,
    cast(credit_code as varchar)         as credit_code,
    cast(industry as varchar)            as industry,
    cast(management_class as varchar)    as management_class,
    cast(discharge_destination as varchar) as discharge_destination,
    nullif(trim(cast(receiving_plant_id as varchar)), '') as receiving_plant_id,
    cast(outfall_id as varchar)          as outfall_id,
    cast(permitted_cod_t_a as double)    as permitted_cod_t_a,
    cast(permitted_nh3n_t_a as double)   as permitted_nh3n_t_a,
    cast(standard as varchar)            as standard,
    cast(valid_from as date)             as valid_from,
    cast(valid_until as date)            as valid_until,
    cast(district_code as varchar)       as district_code,
    _source_file,
    _source_row
from {{ source('raw', 'discharge_permits_current') }}
