{#- 排污许可有效期不超过5年（《排污许可管理条例》第十四条：排污许可证有效期为5年）。WARN。
    Discharge permits are valid for at most five years (Regulations on Pollutant Discharge Permits, art. 14). -#}
{{ config(severity='warn', meta={'description': '排污许可有效期超过5年（排污许可管理条例 第十四条）。'}) }}
select permit_no, valid_from, valid_until
from {{ ref('stg_permits__discharge') }}
where valid_until > {{ dbt.dateadd('day', 1, dbt.dateadd('year', 5, 'valid_from')) }}
