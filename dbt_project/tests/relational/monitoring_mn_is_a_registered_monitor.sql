{#- 在线监测数据的 MN 须是名录中某污水处理厂的进口或出口监测点（引用关系；WARN）。
    A packet's MN is the inlet or outlet monitor of a registered plant (a reference; WARN). -#}
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'stg_monitoring__packets'}},
                                 'description': '在线监测 MN 须属于名录中污水处理厂的进口或出口监测点。Packets come from registered monitors.'}) }}
select mn, min(data_time) as first_seen, count(*) as packets
from {{ ref('stg_monitoring__packets') }}
where mn not in (select inlet_mn from {{ ref('stg_plants__registry') }} where inlet_mn is not null
                 union all
                 select outlet_mn from {{ ref('stg_plants__registry') }} where outlet_mn is not null)
group by mn
