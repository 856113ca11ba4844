-- HJ 212 在线监测数据包（当前版本），每行一个数据包。Online-monitoring packets, one row per packet.
select
    cast(mn as varchar)                  as mn,
    cast(cn as varchar)                  as cn,
    cast(data_time as timestamp)         as data_time,
    cast(data_date as date)              as data_date,
    cast(qn as varchar)                  as qn,
    cast(st as varchar)                  as st,
    {%- for f in var('hj212_factor_columns') %}
    cast({{ f }}_avg as double)          as {{ f }}_avg,
    cast({{ f }}_flag as varchar)        as {{ f }}_flag,
    {%- endfor %}
    _source_file,
    _source_row
from {{ source('raw', 'plant_online_current') }}
