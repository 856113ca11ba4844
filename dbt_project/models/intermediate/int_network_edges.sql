{#-
  污水管网有向图：污水管与合流管（雨水管排往排放口，不进污水厂，不参与追踪）。
  按管底标高定向：当绘制方向的终点管底比起点高出 invert_tolerance_m 以上，视为逆向绘制并反转；
  标高缺失或相等时保留绘制方向。反转的管段在 network_anomalies 中列出以便核查（可能是倒坡）。
  The directed sewage network (sewage and combined pipes; storm pipes drain to outfalls, not plants).
  Orientation: when the drawn end's invert is higher than the drawn start's by more than
  var invert_tolerance_m, the segment was drawn against the flow and is reversed; with a missing or
  equal invert the drawn direction stands. Reversed segments are listed in network_anomalies.
-#}
{%- set tol = var('invert_tolerance_m') -%}
with pipes as (
    select *
    from {{ ref('stg_census__pipes') }}
    where pipe_category in ('sewage', 'combined')
      and start_manhole_id is not null
      and end_manhole_id is not null
)

select
    segment_id,
    case when is_reversed then end_manhole_id else start_manhole_id end   as from_manhole_id,
    case when is_reversed then start_manhole_id else end_manhole_id end   as to_manhole_id,
    is_reversed,
    case when is_reversed then end_invert_m else start_invert_m end       as upstream_invert_m,
    case when is_reversed then start_invert_m else end_invert_m end       as downstream_invert_m,
    -- fall along the flow per metre; <= 0 means flat or adverse (倒坡) within the tolerance
    case
        when start_invert_m is not null and end_invert_m is not null and length_m > 0
        then case when is_reversed then end_invert_m - start_invert_m
                  else start_invert_m - end_invert_m end / length_m
    end                                                                  as slope,
    length_m,
    district_code,
    scope,
    pipe_category
from (
    select
        *,
        coalesce(end_invert_m - start_invert_m > {{ tol }}, false) as is_reversed
    from pipes
) as oriented
where start_manhole_id <> end_manhole_id
