{#-
  出水日均值达标：每座厂每天每个因子一行（COD、氨氮、总氮、总磷；在线监测出口，小时数据 CN=2061）。
  daily_mean 只用标记 N 的小时值；limit_mg_l 为该厂执行标准在当天生效的限值（effective_from 最近的一行），
  DB33/2169 在 11月1日–3月31日用低温期限值；GB 18918 的低温期以水温 ≤12 ℃ 判定，
  在线数据不含水温（契约无 w01010），故按常规限值判定（偏严，见 docs/marts.md）。
  exceeded = daily_mean > limit_mg_l（超过限值为超标，等于限值不超标）。
  Daily effluent compliance per plant, date and factor from the valid hourly outlet values.
-#}
{#- 按日增量（macros/partitions.sql）。Incremental by day: a run rebuilds its days only. -#}
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail', tags=['daily'],
          pre_hook="{{ delete_partition_days('date') }}") }}
with hourly as (
    select plant_id, data_date, factor, value, is_valid
    from {{ ref('int_plant_hourly_values') }}
    where point = 'outlet' and factor in ('cod', 'nh3n', 'tn', 'tp')
    {%- if is_incremental() %} and {{ partition_filter('data_date') }}{% endif %}
),

daily as (
    select
        plant_id,
        data_date                                          as date,
        factor,
        avg(case when is_valid then value end)             as daily_mean,
        count(case when is_valid then 1 end)               as valid_hours,
        count(*)                                           as reported_hours
    from hourly
    group by plant_id, data_date, factor
),

limits as (
    select
        d.plant_id,
        d.date,
        d.factor,
        p.standard,
        l.limit_mg_l,
        l.cold_limit_mg_l,
        l.cold_period_rule,
        l.effective_from,
        row_number() over (partition by d.plant_id, d.date, d.factor order by l.effective_from desc) as recency
    from daily as d
    inner join {{ ref('stg_plants__registry') }} as p on p.plant_id = d.plant_id
    inner join {{ ref('water_quality_limits') }} as l
        on l.standard = p.standard
        and l.factor = d.factor
        and l.effective_from <= d.date
        and (l.effective_to is null or d.date < l.effective_to)
),

in_force as (
    select
        *,
        cold_period_rule = 'nov_1_to_mar_31'
            and extract(month from date) in (11, 12, 1, 2, 3)
            and cold_limit_mg_l is not null                as is_cold_period
    from limits
    where recency = 1
)

select
    d.plant_id,
    d.date,
    d.factor,
    round(d.daily_mean, 4)                                 as daily_mean,
    d.valid_hours,
    d.reported_hours,
    d.valid_hours >= {{ var('min_valid_hours') }}          as meets_min_valid_hours,
    f.standard,
    coalesce(f.is_cold_period, false)                      as is_cold_period,
    case when f.is_cold_period then f.cold_limit_mg_l else f.limit_mg_l end as limit_mg_l,
    f.effective_from                                       as limit_effective_from,
    round(d.daily_mean, 4) > case when f.is_cold_period then f.cold_limit_mg_l else f.limit_mg_l end as exceeded
from daily as d
left join in_force as f on f.plant_id = d.plant_id and f.date = d.date and f.factor = d.factor
