-- 污水处理厂在线监测小时值（CN=2061），按 MN 对应到厂和进/出口。
-- Hourly online values (CN 2061) matched to their plant and monitoring point through the registry's MNs.
-- 按日增量（macros/partitions.sql）：一次运行只重建其分区内的日期。Incremental by day: a run rebuilds its days only.
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail', tags=['daily'],
          pre_hook="{{ delete_partition_days('data_date') }}") }}
with points as (
    select plant_id, inlet_mn as mn, 'inlet' as point from {{ ref('stg_plants__registry') }}
    union all
    select plant_id, outlet_mn, 'outlet' from {{ ref('stg_plants__registry') }}
)

select
    p.plant_id,
    p.point,
    v.data_time,
    v.data_date,
    v.factor,
    v.value,
    v.flag,
    v.is_valid
from {{ ref('stg_monitoring__factor_values') }} as v
inner join points as p on p.mn = v.mn
where v.cn = '2061'
{%- if is_incremental() %}
    and {{ partition_filter('v.data_date') }}
{%- endif %}
