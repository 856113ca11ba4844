{#- 全市行的管网长度等于各区县之和（同一口径、同一日期；ERROR）。
    The city row's network length is the districts' sum, per scope and date (ERROR). -#}
{{ config(severity='error', meta={'description': '全市行的管网长度须等于各区县之和。The city row is the sum of the districts.'}) }}
select c.scope, c.as_of, c.network_length_m as city_m, d.sum_m
from {{ ref('district_progress') }} as c
inner join (
    select scope, as_of, sum(network_length_m) as sum_m
    from {{ ref('district_progress') }}
    where district_code <> '331000'
    group by scope, as_of
) as d on d.scope = c.scope and d.as_of = c.as_of
where c.district_code = '331000' and abs(c.network_length_m - d.sum_m) > 0.01
