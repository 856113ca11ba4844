-- 报告日有效的排水许可（判定见 macro drainage_permit_is_valid）：状态为有效（或空）且报告日在发证日期与有效期之间。
-- Drainage permits valid on the reporting date: status valid and the date within issued_on..valid_until.
select
    *,
    {{ reporting_date() }} as as_of
from {{ ref('stg_permits__drainage') }}
where {{ drainage_permit_is_valid('status', 'issued_on', 'valid_until', reporting_date()) }}
