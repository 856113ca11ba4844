-- HJ 212 因子值（逆透视）：每个数据包每个因子一行，仅保留有值或有标记的因子。
-- Packets unpivoted to one row per packet and factor; a factor absent from the packet gives no row.
{%- set factors = var('hj212_factor_columns') %}
with packets as (
    select * from {{ ref('stg_monitoring__packets') }}
),
unpivoted as (
    {%- for f in factors %}
    select mn, cn, data_time, data_date, '{{ f }}' as factor, {{ f }}_avg as value, {{ f }}_flag as flag
    from packets
    where {{ f }}_avg is not null or {{ f }}_flag is not null
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)
select
    mn, cn, data_time, data_date, factor, value, flag,
    -- HJ 212-2017: only flag N is valid data
    coalesce(flag = 'N' and value is not null, false) as is_valid
from unpivoted
