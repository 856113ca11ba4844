{#-
  进水 BOD5 浓度高于 100 mg/L 的城市污水处理厂规模占比（DOMAIN.md §2，目标 90%，期限 2025-12-31）。
  - 城市污水处理厂 = plant_type municipal（工业园区集中处理设施另有要求，不计入）。
  - “高于100毫克/升”按方案原文取严格大于：年均值恰为 100 mg/L 的厂不计入分子。
  - “达到90%以上”按法律用语含本数：占比 ≥ 90% 为达标。
  - 分母为当年年底前已投运的全部城市污水处理厂的设计规模；当年无进水 BOD5 化验数据的厂计入分母、不计入分子。
  - 年均值按进水流量加权（int_plant_influent_annual）；报告日所在年份为年初至今（is_year_to_date，period_end 为报告日），
    不是全年结果。
  Share of municipal design capacity whose plants' annual mean influent BOD5 is strictly above
  100 mg/L; met when the share is ≥ the target. Plants without samples count in the denominator only.
-#}
with plants as (
    select * from {{ ref('int_plant_influent_annual') }}
    where plant_type = 'municipal'
),

target as (
    select threshold_pct, deadline
    from {{ ref('plan_targets') }}
    where metric = 'bod5_capacity_share_pct'
),

yearly as (
    select
        year,
        count(*)                                                              as plants_total,
        count(mean_influent_bod5_mg_l)                                        as plants_with_samples,
        sum(case when mean_influent_bod5_mg_l > 100 then 1 else 0 end)        as plants_above_100,
        count(case when averaging = 'flow_weighted' then 1 end)               as plants_flow_weighted,
        max(case when is_year_to_date then 1 else 0 end) = 1                  as is_year_to_date,
        {{ exact_sum('design_capacity_m3d') }} as capacity_total_m3d,
        {{ exact_sum('case when mean_influent_bod5_mg_l > 100 then design_capacity_m3d else 0 end') }} as capacity_above_100_m3d
    from plants
    group by year
)

select
    y.year,
    y.plants_total,
    y.plants_with_samples,
    y.plants_above_100,
    y.plants_flow_weighted,
    y.is_year_to_date,
    case when y.is_year_to_date then {{ reporting_date() }}
         else cast(cast(y.year as varchar) || '-12-31' as date) end       as period_end,
    round(y.capacity_total_m3d, 2)                                        as capacity_total_m3d,
    round(y.capacity_above_100_m3d, 2)                                    as capacity_above_100_m3d,
    {{ pct('y.capacity_above_100_m3d', 'y.capacity_total_m3d') }}          as capacity_share_pct,
    t.threshold_pct                                                       as target_pct,
    t.deadline                                                            as target_deadline,
    coalesce({{ pct('y.capacity_above_100_m3d', 'y.capacity_total_m3d') }} >= t.threshold_pct, false) as met
from yearly as y
cross join target as t
