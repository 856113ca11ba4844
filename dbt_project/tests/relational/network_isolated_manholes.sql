{#- 未连接任何管段的检查井（孤立井，多为普查漏测管段）。WARN：报告给普查单位核查，不阻断发布。network_anomalies 列出这些问题，这里只计数，不再找一遍。
    Manholes no segment touches. WARN: reported to the census bureau, not blocking. network_anomalies lists them (one computation of
    the network, issue 9); this test counts them. -#}
{{ config(severity='warn', meta={'description': '未连接任何管段的检查井（孤立井，多为普查漏测管段）。Manholes no segment touches.'}) }}
select object_id, related_id, district_code, detail
from {{ ref('network_anomalies') }}
where anomaly_kind = 'isolated_manhole'
