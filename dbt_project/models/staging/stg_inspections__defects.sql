-- 检测缺陷（当前版本），每行一个缺陷；无缺陷的检测行 defect_code 为空。
-- Inspection rows, one per defect; a segment inspected without defect has a NULL defect_code.
select
    cast(batch_id as varchar)            as batch_id,
    cast(segment_id as varchar)          as segment_id,
    cast(inspected_on as date)           as inspected_on,
    cast(method as varchar)              as method,
    cast(inspected_length_m as double)   as inspected_length_m,
    nullif(trim(cast(defect_code as varchar)), '') as defect_code,
    cast(defect_grade as integer)        as defect_grade,
    coalesce(cast(defect_position_m as double), 0) as defect_position_m,
    cast(defect_length_m as double)      as defect_length_m,
    _source_file,
    _source_row
from {{ source('raw', 'inspections_current') }}
