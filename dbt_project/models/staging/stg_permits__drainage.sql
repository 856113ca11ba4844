-- 排水许可（当前版本）。Drainage permits, current version.
select
    cast(permit_no as varchar)           as permit_no,
    cast(holder_name as varchar)         as holder_name,
    cast(credit_code as varchar)         as credit_code,
    cast(holder_type as varchar)         as holder_type,
    cast(permitted_volume_m3d as double) as permitted_volume_m3d,
    cast(connection_manhole_id as varchar) as connection_manhole_id,
    cast(district_code as varchar)       as district_code,
    cast(issued_on as date)              as issued_on,
    cast(valid_until as date)            as valid_until,
    cast(status as varchar)              as status,
    _source_file,
    _source_row
from {{ source('raw', 'drainage_permits_current') }}
