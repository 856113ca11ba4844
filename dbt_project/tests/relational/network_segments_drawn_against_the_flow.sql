{#- 管段终点管底高于起点超过 var invert_tolerance_m：按逆流方向绘制或倒坡（追踪时已反转；WARN，供普查单位核查）。
    A segment whose drawn end lies higher than its start by more than var invert_tolerance_m was drawn against the
    flow or is adverse; tracing reverses it (int_network_edges), the census bureau should check it (WARN). -#}
{{ config(severity='warn', meta={'description': '管段按逆流方向绘制或倒坡（终点管底高于起点）。Segments drawn against the flow.'}) }}
select segment_id, from_manhole_id, to_manhole_id, upstream_invert_m, downstream_invert_m
from {{ ref('int_network_edges') }}
where is_reversed
