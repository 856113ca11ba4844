{#- 全市行的管网长度等于各区县之和（同一口径、同一日期；ERROR）。
    The city row's network length is the districts' sum, per scope and date (ERROR).
    Each row's length is rounded to 0.01 m, so the city row and the sum of the rounded district rows may differ
    by half a centimetre per row rounded (issue 8's sample met 26250.80 against 26250.81). -#}
{{ config(severity='error', meta={'description': '全市行的管网长度须等于各区县之和（允许逐行四舍五入误差）。The city row is the sum of the districts, within the rounding of each row.'}) }}
select c.scope, c.as_of, c.network_length_m as city_m, d.sum_m
from {{ ref('district_progress') }} as c
inner join (
    select scope, as_of, sum(network_length_m) as sum_m, count(*) as n
    from {{ ref('district_progress') }}
    where district_code <> '331000'
    group by scope, as_of
) as d on d.scope = c.scope and d.as_of = c.as_of
where c.district_code = '331000' and abs(c.network_length_m - d.sum_m) > 0.005 * (d.n + 1) + 1e-9
