{#- 检查井应至少连接一条管段（孤立井多为普查漏测管段；WARN）。孤立井由 network_anomalies 列出，这里只计数。
    Every manhole is touched by a segment (an isolated one usually means a segment missing from the census; WARN).
    network_anomalies lists them; this test counts them, it does not find them again. -#}
{{ config(severity='warn', meta={'description': '检查井未连接任何管段（孤立井）。Manholes no segment touches.'}) }}
select object_id as manhole_id, district_code
from {{ ref('network_anomalies') }}
where anomaly_kind = 'isolated_manhole'
