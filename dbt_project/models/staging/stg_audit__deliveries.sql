-- 报送记录：已载入的文件（送达日期 = 平台登记日期）。重复文件与拒收文件不算一次有效报送。
-- Deliveries: files loaded into the warehouse; the delivery date is the day the platform registered the file.
select
    cast(file_id as bigint)              as file_id,
    cast(feed as varchar)                as feed,
    cast(file_name as varchar)           as file_name,
    cast(loaded_at as date)              as delivered_on,
    loaded_at
from {{ source('audit', 'file_registry') }}
where status = 'loaded'
