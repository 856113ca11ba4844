-- 雨污混接点（当前版本）。Misconnection points, current version.
select
    cast(misconnection_id as varchar)    as misconnection_id,
    nullif(trim(cast(segment_id as varchar)), '') as segment_id,
    nullif(trim(cast(manhole_id as varchar)), '') as manhole_id,
    cast(misconnection_type as varchar)  as misconnection_type,
    cast(severity as varchar)            as severity,
    cast(found_on as date)               as found_on,
    cast(rectification_status as varchar) as rectification_status,
    cast(rectified_on as date)           as rectified_on,
    cast(district_code as varchar)       as district_code,
    _source_file,
    _source_row
from {{ source('raw', 'misconnections_current') }}
