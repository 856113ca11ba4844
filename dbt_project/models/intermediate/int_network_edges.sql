{#-
  管网有向图（全部管段：污水、合流、雨水）。定向依据管网本身，而不是单根管的管底标高：
  1. 普查约定起点 → 终点即水流方向，先信任绘制方向；
  2. 从出口（int_network_outlets：进厂井、排放口、无出流管段的泵站/调蓄池）沿绘制方向逆流而上，
     能到达出口的检查井代价为 0；
  3. 只有当一根管段按绘制方向流不到任何出口、而反过来能流到时才反转它（逐层放宽：代价 k 的检查井
     可经一次反转把代价 k+1 给予其绘制终点，最多 var orientation_max_reversals 层），并且其管底标高
     不反对反转（绘制方向下降超过 var invert_tolerance_m 的管段不反转：标高与绘图一致，断头是普查缺口）；
  4. 管段 a→b 在 cost(a) < cost(b) 时反转（b 只能经 a 流到出口）；从进厂井或排放口绘出的管段反转（水在出口离开管网）。
  倒坡（沿水流方向管底升高超过容差）是管道本身的缺陷，单独报告（slope_class = adverse），不据此反转。
  Directed network of every census pipe. Direction comes from the network, not from one pipe's
  inverts: the census draws 起点 → 终点 along the flow, so the drawing is trusted; a segment is reversed
  only where its drawn direction leads to no outlet and the reverse does (a 0-1 cost walk upstream from
  the outlets: cost = reversals needed to reach an outlet, at most var orientation_max_reversals), and its
  inverts do not contradict the reversal (a pipe that falls along its drawing by more than
  var invert_tolerance_m keeps it: the dead end behind it is a census gap). a → b is reversed when
  cost(a) < cost(b); a pipe drawn out of a plant inlet or an outfall is reversed too (flow leaves the
  network there), under the same veto. An adverse slope along the resulting flow is a defect of the pipe (倒坡), reported as
  slope_class = 'adverse', never a reason to reverse. Walks use macro reachable().
-#}
{%- set tol = var('invert_tolerance_m') -%}
{%- set max_reversals = var('orientation_max_reversals') -%}
with pipes as (
    select
        segment_id, start_manhole_id, end_manhole_id, start_invert_m, end_invert_m, length_m,
        district_code, scope, pipe_category,
        -- the drawing falls towards its end: the inverts contradict a reversal
        coalesce(start_invert_m - end_invert_m > {{ tol }}, false) as falls_as_drawn
    from {{ ref('stg_census__pipes') }}
    where start_manhole_id is not null
      and end_manhole_id is not null
      and start_manhole_id <> end_manhole_id
),

layers as (
    {%- for k in range(max_reversals + 1) %}
    select {{ k }} as layer{% if not loop.last %} union all{% endif %}
    {%- endfor %}
),

layered_edges as (
    -- walking upstream: along a drawn pipe from its end to its start, same layer
    select cast(l.layer as varchar) || '|' || p.end_manhole_id    as from_id,
           cast(l.layer as varchar) || '|' || p.start_manhole_id  as to_id
    from pipes as p
    cross join layers as l
    union all
    -- against the drawing (from its start to its end) costs one reversal
    select cast(l.layer as varchar) || '|' || p.start_manhole_id,
           cast(l.layer + 1 as varchar) || '|' || p.end_manhole_id
    from pipes as p
    cross join layers as l
    where l.layer < {{ max_reversals }} and not p.falls_as_drawn
),

outlet_starts as (
    select 'outlet' as origin_id, '0|' || manhole_id as node_id from {{ ref('int_network_outlets') }}
),

reached as (
    select node_id from {{ reachable('select origin_id, node_id from outlet_starts',
                                     'select from_id, to_id from layered_edges') }} as r
),

cost as (
    select
        substr(node_id, strpos(node_id, '|') + 1)              as manhole_id,
        min(cast(substr(node_id, 1, strpos(node_id, '|') - 1) as integer)) as reversals
    from reached
    group by 1
),

terminal as (
    -- flow leaves the census at a plant inlet or an outfall: nothing flows out of them
    select manhole_id from {{ ref('int_network_outlets') }} where outlet_kind in ('plant_inlet', 'outfall')
),

oriented as (
    select
        p.*,
        not p.falls_as_drawn
        and (coalesce(cs.reversals < ce.reversals, false)
             or (ts.manhole_id is not null and te.manhole_id is null))          as is_reversed
    from pipes as p
    left join cost as cs on cs.manhole_id = p.start_manhole_id
    left join cost as ce on ce.manhole_id = p.end_manhole_id
    left join terminal as ts on ts.manhole_id = p.start_manhole_id
    left join terminal as te on te.manhole_id = p.end_manhole_id
),

directed as (
    select
        segment_id,
        case when is_reversed then end_manhole_id else start_manhole_id end   as from_manhole_id,
        case when is_reversed then start_manhole_id else end_manhole_id end   as to_manhole_id,
        is_reversed,
        case when is_reversed then end_invert_m else start_invert_m end       as upstream_invert_m,
        case when is_reversed then start_invert_m else end_invert_m end       as downstream_invert_m,
        length_m,
        district_code,
        scope,
        pipe_category
    from oriented
)

select
    segment_id,
    from_manhole_id,
    to_manhole_id,
    is_reversed,
    upstream_invert_m,
    downstream_invert_m,
    round(upstream_invert_m - downstream_invert_m, 3)                        as fall_m,
    -- fall along the flow per metre; negative = adverse (倒坡)
    case when length_m > 0 then round((upstream_invert_m - downstream_invert_m) / length_m, 6) end as slope,
    case
        when upstream_invert_m is null or downstream_invert_m is null then null
        when downstream_invert_m - upstream_invert_m > {{ tol }} then 'adverse'
        when upstream_invert_m - downstream_invert_m > {{ tol }} then 'falling'
        else 'flat'
    end                                                                      as slope_class,
    length_m,
    district_code,
    scope,
    pipe_category
from directed
