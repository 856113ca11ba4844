-- 执法记录（当前版本）：两局列不同，缺少的列为空。含个人信息列（执法人员、联系电话），仅限数据所有部门。
-- Enforcement cases of both bureaus, current version. Personal columns stay here for the owning bureau.
select
    cast(case_id as varchar)             as case_id,
    cast(source_bureau as varchar)       as source_bureau,
    cast(inspected_on as date)           as inspected_on,
    cast(inspection_method as varchar)   as inspection_method,
    cast(subject_name as varchar)        as subject_name,
    nullif(trim(cast(credit_code as varchar)), '') as credit_code,
    -- the code as sent when it failed the GB 32100 checksum (NULL above): its area digits may still be right
    {{ unmapped_text('credit_code') }}   as credit_code_unverified,
    cast(district_code as varchar)       as district_code,
    cast(violation_type as varchar)      as violation_type,
    cast(decision_no as varchar)         as decision_no,
    cast(penalty_yuan as double)         as penalty_yuan,
    cast(case_status as varchar)         as case_status,
    cast(rectify_by as date)             as rectify_by,
    cast(rectified_on as date)           as rectified_on,
    cast(officer_names as varchar)       as officer_names,
    cast(contact_phone as varchar)       as contact_phone,
    _source_file,
    _source_row
from {{ source('raw', 'enforcement_current') }}
