{#- 沿水流方向管底升高超过 var invert_tolerance_m 的管段（倒坡）。WARN：报告给普查单位核查，不阻断发布。network_anomalies 列出这些问题，这里只计数，不再找一遍。
    Segments whose invert rises along the flow (adverse slope). WARN: reported to the census bureau, not blocking. network_anomalies lists them (one computation of
    the network, issue 9); this test counts them. -#}
{{ config(severity='warn', meta={'description': '沿水流方向管底升高超过 var invert_tolerance_m 的管段（倒坡）。Segments whose invert rises along the flow (adverse slope).'}) }}
select object_id, related_id, district_code, detail
from {{ ref('network_anomalies') }}
where anomaly_kind = 'adverse_slope'
