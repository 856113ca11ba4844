{#- 定向后的污水管网不应有环路（水流无出路或方向错误；WARN：报告给普查单位核查）。
    The oriented sewage network has no cycles (WARN: reported to the census bureau). -#}
{{ config(severity='warn', meta={'description': '管网环路上的检查井（定向后能回到自身）。Manholes on a directed cycle.'}) }}
select manhole_id, cycle_id, cycle_size
from {{ ref('int_network_cycles') }}
