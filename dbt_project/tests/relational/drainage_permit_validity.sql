{#- 排水许可有效期：状态为有效但已过报告日，或有效期超过5年（《城镇污水排入排水管网许可管理办法》
    住建部令第21号 第十八条：排水许可证的有效期为5年）。WARN：许可证照实报送，问题在办证环节。
    Drainage permits valid but past their end on the reporting date, or valid for more than five years
    (MOHURD Order 21, art. 18: a drainage permit is valid for five years). WARN. -#}
{{ config(severity='warn', meta={'description': '排水许可有效期异常：有效但已过期，或超过5年（住建部令第21号 第十八条）。'}) }}
select permit_no, issued_on, valid_until, status,
       case when status = 'valid' and valid_until < {{ reporting_date() }} then 'expired_but_valid'
            else 'longer_than_5_years' end as problem
from {{ ref('stg_permits__drainage') }}
where (status = 'valid' and valid_until < {{ reporting_date() }})
   or valid_until > {{ dbt.dateadd('day', 1, dbt.dateadd('year', 5, 'issued_on')) }}
