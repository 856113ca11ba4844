{#-
  每座厂每月：进水 BOD5 月均值（化验数据）、进水流量（在线监测进口小时值，仅标记 N）、设计规模与负荷率。
  Per plant and month: mean influent BOD5 (lab), mean daily inflow from the valid hourly inlet flow
  (m³/h × 24; HJ 212 sends L/s, converted at load by the contract), design capacity and load rate.
-#}
with lab as (
    select
        plant_id,
        cast({{ dbt.date_trunc('month', 'sampled_on') }} as date)  as month,
        avg({{ exact('bod5_mg_l') }})                              as mean_bod5,
        count(bod5_mg_l)                                           as n_bod5_samples,
        avg({{ exact('cod_mg_l') }})                               as mean_cod
    from {{ ref('stg_lab__samples') }}
    where sampling_point = 'influent'
    group by 1, 2
),

flow as (
    select
        plant_id,
        cast({{ dbt.date_trunc('month', 'data_date') }} as date)   as month,
        avg({{ exact('value') }}) * 24                             as mean_flow_m3d,
        count(*)                                                   as valid_flow_hours
    from {{ ref('int_plant_hourly_values') }}
    where point = 'inlet' and factor = 'flow' and is_valid
    group by 1, 2
),

months as (
    select plant_id, month from lab
    union
    select plant_id, month from flow
)

select
    m.plant_id,
    p.plant_name,
    p.district_code,
    p.plant_type,
    m.month,
    round(l.mean_bod5, 4)                                          as mean_influent_bod5_mg_l,
    coalesce(l.n_bod5_samples, 0)                                  as n_bod5_samples,
    round(l.mean_cod, 4)                                           as mean_influent_cod_mg_l,
    round(f.mean_flow_m3d, 2)                                      as mean_flow_m3d,
    coalesce(f.valid_flow_hours, 0)                                as valid_flow_hours,
    round(p.design_capacity_m3d, 2)                                as design_capacity_m3d,
    {{ pct('round(f.mean_flow_m3d, 2)', 'p.design_capacity_m3d') }} as load_rate_pct
from months as m
inner join {{ ref('int_plants_located') }} as p on p.plant_id = m.plant_id
left join lab as l on l.plant_id = m.plant_id and l.month = m.month
left join flow as f on f.plant_id = m.plant_id and f.month = m.month
