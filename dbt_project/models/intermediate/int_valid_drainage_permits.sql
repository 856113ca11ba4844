-- 报告日有效的排水许可：状态为有效且报告日在发证日期与有效期之间。
-- Drainage permits valid on the reporting date: status valid and the date within issued_on..valid_until.
select
    *,
    {{ reporting_date() }} as as_of
from {{ ref('stg_permits__drainage') }}
where coalesce(status, 'valid') = 'valid'
  and issued_on <= {{ reporting_date() }}
  and valid_until >= {{ reporting_date() }}
