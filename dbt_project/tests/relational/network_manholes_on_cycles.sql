{#- 管网环路上的检查井（定向后能回到自身；水流无出路或方向错误）。WARN：报告给普查单位核查，不阻断发布。network_anomalies 列出这些问题，这里只计数，不再找一遍。
    Manholes on a directed cycle. WARN: reported to the census bureau, not blocking. network_anomalies lists them (one computation of
    the network, issue 9); this test counts them. -#}
{{ config(severity='warn', meta={'description': '管网环路上的检查井（定向后能回到自身；水流无出路或方向错误）。Manholes on a directed cycle.'}) }}
select object_id, related_id, district_code, detail
from {{ ref('network_anomalies') }}
where anomaly_kind = 'cycle'
