{#-
  出水日均值达标：每座厂每天每个因子一行（COD、氨氮、总氮、总磷、pH；在线监测出口小时数据 CN=2061）。
  - 有效数据：只有标记 N 的小时值有效（HJ 212-2017 数据标记；HJ 356-2019 数据有效性判别）。
  - 日均值（HJ 356-2019 §7 有效均值的计算）：浓度以同一小时的有效出口流量加权，Σ(c·q)/Σq；同时有有效浓度和有效流量的
    小时数不足 var min_valid_hours 时退为有效小时值的算术平均（averaging 说明用了哪种）。pH 为对数量，不加权，
    按有效小时的最小、最大值判定（GB 18918-2002 表1 第11项 pH 6～9 是范围，任何一小时超出即不达标）。
  - 判定：有效小时数 ≥ var min_valid_hours（20）才判定达标/超标；不足的日子为“数据不足”（insufficient_data），
    本身就是一个问题，如同缺报监测报告；监测期内整天没有数据的日子也列出（reported_hours = 0）。
  - 超测上限（T）的小时不是有效数据，但很可能超标：over_range_hours > 0 即 likely_exceeded，单独标出。
  - 限值：当天执行的标准（int_plant_standards，按生效日期的历史）在当天生效的限值；DB33/2169 在 11月1日–3月31日
    用低温期限值；GB 18918 的低温期以水温 ≤12 ℃ 判定，契约无水温（w01010），按常规限值（偏严）。
  - exceeded = 日均值 > 限值（等于限值不超标）；pH 为最小值 < 6 或最大值 > 9；数据不足时为空。
  Daily effluent compliance per plant, date and factor: flow-weighted daily mean of the valid hours, judged only
  with enough valid hours (else 数据不足, a finding of its own), over-range hours flagged as likely
  exceedances, limits from the standard in force that day, pH 6–9 on the hourly range.
-#}
{#- 按日增量（macros/partitions.sql）。Incremental by day: a run rebuilds its days only. -#}
{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail',
          tags=['daily'], meta={'partition_column': 'date'},
          pre_hook="{{ delete_partition_days('date') }}") }}
{%- set min_hours = var('min_valid_hours') -%}
with hourly as (
    select plant_id, data_date, data_time, factor, value, flag, is_valid
    from {{ ref('int_plant_hourly_values') }}
    where point = 'outlet' and factor in ('cod', 'nh3n', 'tn', 'tp', 'ph')
      and data_date <= {{ reporting_date() }}
    {%- if is_incremental() %} and {{ partition_filter('data_date') }}{% endif %}
),

outlet_flow as (
    select plant_id, data_time, value as flow_m3h
    from {{ ref('int_plant_hourly_values') }}
    where point = 'outlet' and factor = 'flow' and is_valid and value > 0
),

weighted as (
    select h.*, case when h.is_valid then f.flow_m3h end as flow_m3h
    from hourly as h
    left join outlet_flow as f on f.plant_id = h.plant_id and f.data_time = h.data_time
),

daily as (
    select
        plant_id,
        data_date                                                          as date,
        factor,
        avg(case when is_valid then {{ exact('value') }} end)             as arithmetic_mean,
        sum(case when is_valid then {{ exact('value') }} * {{ exact('flow_m3h') }} end)
            / nullif(sum(case when is_valid then {{ exact('flow_m3h') }} end), 0)
                                                                           as weighted_mean,
        count(case when is_valid and flow_m3h is not null then 1 end)      as weighted_hours,
        min(case when is_valid then value end)                             as daily_min,
        max(case when is_valid then value end)                             as daily_max,
        count(case when is_valid then 1 end)                               as valid_hours,
        count(*)                                                           as reported_hours,
        count(case when flag = 'T' then 1 end)                             as over_range_hours
    from weighted
    group by plant_id, data_date, factor
),

spans as (
    -- the monitoring period of each plant: every day between its first and last outlet data
    select plant_id, min(data_date) as first_date, max(data_date) as last_date
    from hourly
    group by plant_id
),

calendar as (
    select s.plant_id, d.day as date, f.factor
    from spans as s
    cross join lateral ({{ day_series('s.first_date', 's.last_date') }}) as d
    cross join (select 'cod' as factor union all select 'nh3n' union all select 'tn'
                union all select 'tp' union all select 'ph') as f
),

days as (
    select
        c.plant_id,
        c.date,
        c.factor,
        case when c.factor = 'ph' then d.arithmetic_mean
             when d.weighted_hours >= {{ min_hours }} then d.weighted_mean
             else d.arithmetic_mean end                                    as daily_mean,
        case when d.valid_hours is null or d.valid_hours = 0 then null
             when c.factor <> 'ph' and d.weighted_hours >= {{ min_hours }} then 'flow_weighted'
             else 'arithmetic' end                                         as averaging,
        d.daily_min,
        d.daily_max,
        coalesce(d.valid_hours, 0)                                         as valid_hours,
        coalesce(d.reported_hours, 0)                                      as reported_hours,
        coalesce(d.over_range_hours, 0)                                    as over_range_hours
    from calendar as c
    left join daily as d on d.plant_id = c.plant_id and d.date = c.date and d.factor = c.factor
),

standards as (
    select d.plant_id, d.date, d.factor, s.standard
    from days as d
    inner join {{ ref('int_plant_standards') }} as s
        on s.plant_id = d.plant_id and s.effective_from <= d.date and (s.effective_to is null or d.date < s.effective_to)
),

limits as (
    select
        s.plant_id,
        s.date,
        s.factor,
        s.standard,
        l.lower_limit,
        l.limit_mg_l,
        l.cold_limit_mg_l,
        l.cold_period_rule,
        l.effective_from,
        row_number() over (partition by s.plant_id, s.date, s.factor order by l.effective_from desc) as recency
    from standards as s
    inner join {{ ref('water_quality_limits') }} as l
        on l.standard = s.standard
        and l.factor = s.factor
        and l.effective_from <= s.date
        and (l.effective_to is null or s.date < l.effective_to)
),

in_force as (
    select
        *,
        coalesce(cold_period_rule = 'nov_1_to_mar_31'
                 and extract(month from date) in (11, 12, 1, 2, 3)
                 and cold_limit_mg_l is not null, false)                  as is_cold_period
    from limits
    where recency = 1
),

judged as (
    select
        d.*,
        f.standard,
        coalesce(f.is_cold_period, false)                                  as is_cold_period,
        f.lower_limit                                                      as limit_lower,
        case when f.is_cold_period then f.cold_limit_mg_l else f.limit_mg_l end as limit_mg_l,
        f.effective_from                                                   as limit_effective_from,
        d.valid_hours >= {{ min_hours }}                                   as meets_min_valid_hours
    from days as d
    left join in_force as f on f.plant_id = d.plant_id and f.date = d.date and f.factor = d.factor
)

select
    plant_id,
    date,
    factor,
    round(daily_mean, 4)                                                   as daily_mean,
    averaging,
    round(daily_min, 4)                                                    as daily_min,
    round(daily_max, 4)                                                    as daily_max,
    valid_hours,
    reported_hours,
    over_range_hours,
    meets_min_valid_hours,
    standard,
    is_cold_period,
    limit_lower,
    limit_mg_l,
    limit_effective_from,
    case
        when not meets_min_valid_hours or limit_mg_l is null then null
        when factor = 'ph' then round(daily_min, 4) < limit_lower or round(daily_max, 4) > limit_mg_l
        else round(daily_mean, 4) > limit_mg_l
    end                                                                    as exceeded,
    over_range_hours > 0                                                   as likely_exceeded,
    case
        when not meets_min_valid_hours then 'insufficient_data'
        when limit_mg_l is null then 'no_limit'
        when (factor = 'ph' and (round(daily_min, 4) < limit_lower or round(daily_max, 4) > limit_mg_l))
             or (factor <> 'ph' and round(daily_mean, 4) > limit_mg_l) then 'exceeded'
        else 'compliant'
    end                                                                    as verdict
from judged
