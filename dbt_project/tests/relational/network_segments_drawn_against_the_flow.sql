{#- 按绘制方向流不到任何出口、反向可以的管段（普查绘制方向有误，追踪时已反转）。WARN：报告给普查单位核查，不阻断发布。network_anomalies 列出这些问题，这里只计数，不再找一遍。
    Segments drawn towards no outlet (reversed by the tracing). WARN: reported to the census bureau, not blocking. network_anomalies lists them (one computation of
    the network, issue 9); this test counts them. -#}
{{ config(severity='warn', meta={'description': '按绘制方向流不到任何出口、反向可以的管段（普查绘制方向有误，追踪时已反转）。Segments drawn towards no outlet (reversed by the tracing).'}) }}
select object_id, related_id, district_code, detail
from {{ ref('network_anomalies') }}
where anomaly_kind = 'reversed_segment'
