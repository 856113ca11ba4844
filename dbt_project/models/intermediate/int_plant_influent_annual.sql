{#-
  每座厂每年的进水 BOD5 年均值（化验数据，各次进水采样的算术平均）。
  每个统计年份都列出当年年底前已投运的全部污水处理厂，没有采样的厂 mean_influent_bod5_mg_l 为空。
  Per plant and year: the mean influent BOD5 over the year's lab samples. Every plant commissioned by the
  end of the year appears for every year with samples, with NULL when it has none.
-#}
with samples as (
    select
        plant_id,
        extract(year from sampled_on)  as year,
        bod5_mg_l
    from {{ ref('stg_lab__samples') }}
    where sampling_point = 'influent' and bod5_mg_l is not null
),

years as (
    select distinct year from samples
),

plants as (
    select plant_id, plant_type, design_capacity_m3d, commissioned_on
    from {{ ref('stg_plants__registry') }}
),

per_plant as (
    select plant_id, year, avg(bod5_mg_l) as mean_bod5, count(*) as n_samples
    from samples
    group by plant_id, year
)

select
    p.plant_id,
    cast(y.year as integer)                  as year,
    p.plant_type,
    p.design_capacity_m3d,
    round(pp.mean_bod5, 4)                   as mean_influent_bod5_mg_l,
    coalesce(pp.n_samples, 0)                as n_samples
from plants as p
cross join years as y
left join per_plant as pp on pp.plant_id = p.plant_id and pp.year = y.year
where p.commissioned_on is null or extract(year from p.commissioned_on) <= y.year
