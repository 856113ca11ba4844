{#-
  汇水区（污水处理厂服务范围）质量证据：每座厂一行。上游管网由追踪得到（int_segment_network），
  缺陷密度按已检测长度计（每公里），混接点按其所在管段或检查井归属到厂，排水户按接驳井归属。
  进水 BOD5 取有化验数据的最近一年的年均值：低 BOD5 配合高渗漏（SL）密度和雨水接入污水的混接，指向外水入渗。
  Evidence per plant for where dilution by infiltration and inflow comes from: upstream network, structural
  and leakage (SL) defect density per inspected km, misconnections, connected dischargers, influent BOD5.
-#}
with segments as (
    select
        n.downstream_plant_id                                  as plant_id,
        p.segment_id,
        p.length_m,
        c.segment_id is not null                               as is_inspected,
        coalesce(c.n_structural_defects, 0)                    as n_structural_defects,
        coalesce(c.n_leakage_defects, 0)                       as n_leakage_defects
    from {{ ref('int_segment_network') }} as n
    inner join {{ ref('stg_census__pipes') }} as p on p.segment_id = n.segment_id
    left join {{ ref('int_segment_condition') }} as c on c.segment_id = n.segment_id
    where n.downstream_plant_id is not null
),

network as (
    select
        plant_id,
        count(*)                                                          as upstream_segments,
        round(coalesce({{ exact_sum('length_m') }}, 0), 2)                              as upstream_length_m,
        round(coalesce({{ exact_sum('case when is_inspected then length_m end') }}, 0), 2) as inspected_length_m,
        sum(n_structural_defects)                                         as structural_defects,
        sum(n_leakage_defects)                                            as leakage_defects
    from segments
    group by plant_id
),

manhole_plant as (
    select manhole_id, min(plant_id) as plant_id from {{ ref('int_manhole_plant') }} group by manhole_id
),

misconnections as (
    select
        coalesce(s.downstream_plant_id, mp.plant_id)                      as plant_id,
        count(*)                                                          as misconnections,
        count(case when m.severity = 'severe' then 1 end)                 as severe_misconnections,
        count(case when coalesce(m.rectification_status, 'open') <> 'rectified' then 1 end) as open_misconnections,
        count(case when m.misconnection_type in ('storm_into_sewage', 'combined_into_sewage') then 1 end)
                                                                          as inflow_misconnections
    from {{ ref('stg_misconnections__points') }} as m
    left join {{ ref('int_segment_network') }} as s on s.segment_id = m.segment_id
    left join manhole_plant as mp on mp.manhole_id = m.manhole_id
    where coalesce(s.downstream_plant_id, mp.plant_id) is not null
    group by 1
),

dischargers as (
    select
        mp.plant_id,
        count(distinct d.credit_code)                                     as connected_dischargers,
        count(*)                                                          as connected_permits,
        round({{ exact_sum('d.permitted_volume_m3d') }}, 2)                             as permitted_volume_m3d
    from {{ ref('int_valid_drainage_permits') }} as d
    inner join manhole_plant as mp on mp.manhole_id = d.connection_manhole_id
    group by mp.plant_id
),

bod5 as (
    select plant_id, year, mean_influent_bod5_mg_l, n_samples
    from (
        select *, row_number() over (partition by plant_id order by year desc) as recency
        from {{ ref('int_plant_influent_annual') }}
        where n_samples > 0
    ) as ranked
    where recency = 1
)

select
    p.plant_id,
    p.plant_name,
    p.district_code,
    p.plant_type,
    p.design_capacity_m3d,
    coalesce(n.upstream_segments, 0)                                      as upstream_segments,
    coalesce(n.upstream_length_m, 0)                                      as upstream_length_m,
    coalesce(n.inspected_length_m, 0)                                     as inspected_length_m,
    coalesce(n.structural_defects, 0)                                     as structural_defects,
    coalesce(n.leakage_defects, 0)                                        as leakage_defects,
    case when n.inspected_length_m > 0
         then round(n.structural_defects / (n.inspected_length_m / 1000.0), 4) end as structural_defects_per_km,
    case when n.inspected_length_m > 0
         then round(n.leakage_defects / (n.inspected_length_m / 1000.0), 4) end    as leakage_defects_per_km,
    coalesce(m.misconnections, 0)                                         as misconnections,
    coalesce(m.severe_misconnections, 0)                                  as severe_misconnections,
    coalesce(m.open_misconnections, 0)                                    as open_misconnections,
    coalesce(m.inflow_misconnections, 0)                                  as inflow_misconnections,
    coalesce(d.connected_dischargers, 0)                                  as connected_dischargers,
    coalesce(d.connected_permits, 0)                                      as connected_permits,
    coalesce(d.permitted_volume_m3d, 0)                                   as permitted_volume_m3d,
    b.year                                                                as bod5_year,
    b.mean_influent_bod5_mg_l,
    b.n_samples                                                           as bod5_samples,
    b.mean_influent_bod5_mg_l <= 100                                      as is_diluted
from {{ ref('int_plants_located') }} as p
left join network as n on n.plant_id = p.plant_id
left join misconnections as m on m.plant_id = p.plant_id
left join dischargers as d on d.plant_id = p.plant_id
left join bod5 as b on b.plant_id = p.plant_id
