-- 预警签收（当前版本：每个预警编号一条，后报更正先报）。Alert acknowledgements, current version.
select
    cast(alert_key as varchar)           as alert_key,
    cast(acknowledged_on as date)        as acknowledged_on,
    cast(acknowledged_by as varchar)     as acknowledged_by,
    cast(action as varchar)              as action,
    cast(remarks as varchar)             as remarks,
    _source_file,
    _source_row
from {{ source('raw', 'alert_acks_current') }}
