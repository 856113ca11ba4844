{#-
  每座厂每年的进水 BOD5 年均值（化验数据）。进水流量已知时按流量加权：Σ(BOD5·Q)/ΣQ，Q 为采样日的进口日水量
  （int_plant_daily_flow，有效小时数 ≥ var min_valid_hours）；有流量的样品不足当年样品的一半时取算术平均（averaging 说明）。
  只计报告日及以前的样品；报告日所在年份为年初至今（is_year_to_date）。
  每个统计年份都列出当年年底前已投运的全部污水处理厂，没有采样的厂 mean_influent_bod5_mg_l 为空。
  Per plant and year: the influent BOD5 mean, weighted by the day's inlet flow where that flow is known
  (arithmetic when fewer than half of the samples have it); samples up to the reporting date only, the
  reporting year being year-to-date. Every plant commissioned by the year end appears, NULL without samples.
-#}
with samples as (
    select
        l.plant_id,
        extract(year from l.sampled_on)  as year,
        l.bod5_mg_l,
        f.flow_m3d
    from {{ ref('stg_lab__samples') }} as l
    left join {{ ref('int_plant_daily_flow') }} as f
        on f.plant_id = l.plant_id and f.point = 'inlet' and f.date = l.sampled_on and f.flow_m3d > 0
    where l.sampling_point = 'influent' and l.bod5_mg_l is not null
      and l.sampled_on <= {{ reporting_date() }}
),

years as (
    select distinct year from samples
),

plants as (
    select plant_id, plant_type, design_capacity_m3d, commissioned_on
    from {{ ref('stg_plants__registry') }}
),

per_plant as (
    select
        plant_id,
        year,
        avg({{ exact('bod5_mg_l') }})                                         as arithmetic_mean,
        sum({{ exact('bod5_mg_l') }} * {{ exact('flow_m3d') }}) / nullif(sum({{ exact('flow_m3d') }}), 0)
                                                                              as weighted_mean,
        count(*)                                                              as n_samples,
        count(flow_m3d)                                                       as n_flow_weighted
    from samples
    group by plant_id, year
)

select
    p.plant_id,
    cast(y.year as integer)                  as year,
    p.plant_type,
    p.design_capacity_m3d,
    round(case when pp.n_flow_weighted * 2 >= pp.n_samples then pp.weighted_mean else pp.arithmetic_mean end, 4)
                                             as mean_influent_bod5_mg_l,
    case when pp.n_samples is null then null
         when pp.n_flow_weighted * 2 >= pp.n_samples then 'flow_weighted'
         else 'arithmetic' end               as averaging,
    coalesce(pp.n_samples, 0)                as n_samples,
    coalesce(pp.n_flow_weighted, 0)          as n_flow_weighted_samples,
    cast(y.year as integer) = extract(year from {{ reporting_date() }}) as is_year_to_date
from plants as p
cross join years as y
left join per_plant as pp on pp.plant_id = p.plant_id and pp.year = y.year
where p.commissioned_on is null or extract(year from p.commissioned_on) <= y.year
