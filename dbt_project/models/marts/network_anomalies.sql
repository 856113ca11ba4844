{#-
  管网拓扑与引用缺口：追踪中发现的问题逐条列出，不静默忽略。每行一个问题对象。
  Gaps and cycles found while tracing, and references to objects the census does not know, one row each.
  anomaly_kind:
    cycle                      环路上的检查井（cycle_id 为环内最小井号）
    dead_end                   有来水、无出流管段、又不是出口的检查井（管网缺口），附其后滞留的上游管段数与长度
    no_downstream_plant        每个区县一行：追踪不到任何污水处理厂的污水/合流管段数与长度（逐段见 pipe_segments）
    several_plants             流向多座污水处理厂的检查井（分叉）
    reversed_segment           绘制方向流不到任何出口、反过来能流到而被反转的管段（按管网定向，见 int_network_edges）
    adverse_slope              倒坡：沿水流方向管底升高超过 var invert_tolerance_m 的管段（管道缺陷，不是绘图错误）
    direct_discharge           直排口：终点为排放口的污水管或合流管（污水未经处理排入水体），优先整治
    discharger_on_storm        接驳井只连着雨水管的排水许可：污水排入雨水管网（分流地区禁止）
    self_loop                  起终点为同一检查井的管段
    missing_manhole            管段端点不在检查井普查中
    isolated_manhole           没有任何管段连接的检查井
    plant_inlet_unconnected    进厂检查井没有来水管段
    unknown_segment_reference  检测、混接、项目引用了普查中不存在的管段
    unknown_manhole_reference  排水许可接驳井、混接点引用了普查中不存在的检查井
-#}
with pipes as (
    select * from {{ ref('stg_census__pipes') }}
),

manholes as (
    select * from {{ ref('stg_census__manholes') }}
),

edges as (
    select * from {{ ref('int_network_edges') }}
),

plants as (
    select * from {{ ref('int_plants_located') }}
),

endpoints as (
    select segment_id, start_manhole_id as manhole_id, district_code, pipe_category from pipes
    union all
    select segment_id, end_manhole_id, district_code, pipe_category from pipes
),

storm_only_manholes as (
    select manhole_id
    from endpoints
    where manhole_id is not null
    group by manhole_id
    having count(case when pipe_category <> 'storm' then 1 end) = 0
),

anomalies as (
    select 'cycle' as anomaly_kind, 'manhole' as object_type, c.manhole_id as object_id,
           c.cycle_id as related_id, mh.district_code,
           'cycle of ' || cast(c.cycle_size as varchar) || ' manholes' as detail
    from {{ ref('int_network_cycles') }} as c
    left join manholes as mh on mh.manhole_id = c.manhole_id

    union all
    select 'dead_end', 'manhole', manhole_id, inflow_segment_id, district_code,
           'no outgoing pipe and no outlet (' || inflow_categories || '): ' || cast(stranded_segments as varchar)
           || ' upstream segments (' || cast(cast(round(stranded_length_m) as bigint) as varchar) || ' m) reach no outlet'
    from {{ ref('int_network_dead_ends') }}

    union all
    -- one summary row per district; each such segment is behind a dead end or in a cycle (rows above),
    -- and pipe_segments.downstream_plant_id is NULL for it
    select 'no_downstream_plant', 'district', e.district_code, null, e.district_code,
           cast(count(*) as varchar) || ' sewage/combined segments ('
           || cast(cast(round({{ exact_sum('e.length_m') }}) as bigint) as varchar) || ' m) drain to no plant'
    from {{ ref('int_segment_network') }} as n
    inner join edges as e on e.segment_id = n.segment_id
    where n.downstream_plant_id is null and n.pipe_category in ('sewage', 'combined')
    group by e.district_code

    union all
    select 'several_plants', 'manhole', mp.manhole_id, min(mp.plant_id), min(mh.district_code), 'drains to more than one plant'
    from {{ ref('int_manhole_plant') }} as mp
    left join manholes as mh on mh.manhole_id = mp.manhole_id
    where mp.drains_to_several_plants
    group by mp.manhole_id

    union all
    select 'reversed_segment', 'segment', segment_id, from_manhole_id, district_code,
           'drawn towards no outlet; reversed, it reaches one (' || pipe_category || ')'
    from edges
    where is_reversed

    union all
    select 'adverse_slope', 'segment', segment_id, from_manhole_id, district_code,
           'invert rises ' || cast(-fall_m as varchar) || ' m along the flow (' || pipe_category || ')'
    from edges
    where slope_class = 'adverse'

    union all
    select 'direct_discharge', 'segment', n.segment_id, n.to_manhole_id, e.district_code,
           n.pipe_category || ' pipe ends at outfall ' || n.to_manhole_id || ': sewage reaches the water untreated'
    from {{ ref('int_segment_network') }} as n
    inner join edges as e on e.segment_id = n.segment_id
    where n.is_direct_discharge

    union all
    select 'discharger_on_storm', 'drainage_permit', d.permit_no, d.connection_manhole_id, d.district_code,
           'connection manhole is on storm pipes only: sewage enters the storm network'
    from {{ ref('stg_permits__drainage') }} as d
    inner join storm_only_manholes as s on s.manhole_id = d.connection_manhole_id

    union all
    select 'self_loop', 'segment', segment_id, start_manhole_id, district_code, 'starts and ends at the same manhole'
    from pipes
    where start_manhole_id = end_manhole_id

    union all
    select 'missing_manhole', 'manhole', ep.manhole_id, min(ep.segment_id), min(ep.district_code),
           'segment end not in the manhole census'
    from endpoints as ep
    left join manholes as m on m.manhole_id = ep.manhole_id
    where ep.manhole_id is not null and m.manhole_id is null
    group by ep.manhole_id

    union all
    select 'isolated_manhole', 'manhole', m.manhole_id, null, m.district_code, 'no segment connects to it'
    from manholes as m
    where not exists (select 1 from endpoints as ep where ep.manhole_id = m.manhole_id)

    union all
    select 'plant_inlet_unconnected', 'plant', p.plant_id, p.inlet_manhole_id, p.district_code,
           'no sewage pipe reaches the inlet manhole'
    from plants as p
    where not exists (select 1 from edges as e
                      where e.to_manhole_id = p.inlet_manhole_id and e.pipe_category in ('sewage', 'combined'))

    union all
    select distinct 'unknown_segment_reference', 'inspection', i.batch_id, i.segment_id, cast(null as varchar),
           'inspection of a segment not in the census'
    from {{ ref('stg_inspections__defects') }} as i
    left join pipes as p on p.segment_id = i.segment_id
    where p.segment_id is null

    union all
    select 'unknown_segment_reference', 'misconnection', m.misconnection_id, m.segment_id, m.district_code,
           'misconnection on a segment not in the census'
    from {{ ref('int_misconnections_located') }} as m
    left join pipes as p on p.segment_id = m.segment_id
    where m.segment_id is not null and p.segment_id is null

    union all
    select 'unknown_segment_reference', 'upgrade_project', ps.project_id, ps.segment_id, pr.district_code,
           'project lists a segment not in the census'
    from {{ ref('int_project_segments') }} as ps
    inner join {{ ref('stg_projects__upgrades') }} as pr on pr.project_id = ps.project_id
    where not ps.in_census

    union all
    select 'unknown_manhole_reference', 'drainage_permit', d.permit_no, d.connection_manhole_id, d.district_code,
           'connection manhole not in the census'
    from {{ ref('stg_permits__drainage') }} as d
    left join manholes as m on m.manhole_id = d.connection_manhole_id
    where m.manhole_id is null

    union all
    select 'unknown_manhole_reference', 'misconnection', mc.misconnection_id, mc.manhole_id, mc.district_code,
           'manhole not in the census'
    from {{ ref('int_misconnections_located') }} as mc
    left join manholes as m on m.manhole_id = mc.manhole_id
    where mc.manhole_id is not null and m.manhole_id is null
)

select anomaly_kind, object_type, object_id, related_id, district_code, detail
from anomalies
