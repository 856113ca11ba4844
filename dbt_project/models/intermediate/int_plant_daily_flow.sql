{#-
  每座厂每个监测点每天的流量：有效（标记 N）小时流量（m³/h，契约已由 HJ 212 的 L/s 换算）的均值与日水量。
  有效小时数不足 var min_valid_hours 时日水量为空（代表性不足）。出口流量是出水日均值流量加权的权重，
  进口流量用于进水 BOD5 年均值的流量加权（city_bod5_kpi）。
  Daily flow per plant and monitoring point from the valid hourly flow (m³/h; the contract converts HJ 212's
  L/s at load). flow_m3d is NULL when fewer than var min_valid_hours hours are valid.
-#}
select
    plant_id,
    point,
    data_date                                                     as date,
    count(case when is_valid then 1 end)                          as valid_flow_hours,
    round(avg(case when is_valid then {{ exact('value') }} end), 3)              as mean_flow_m3h,
    case when count(case when is_valid then 1 end) >= {{ var('min_valid_hours') }}
         then round(avg(case when is_valid then {{ exact('value') }} end) * 24, 2) end as flow_m3d
from {{ ref('int_plant_hourly_values') }}
where factor = 'flow'
group by plant_id, point, data_date
