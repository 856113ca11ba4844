{#-
  行动方案任务进展（当前版本）：任务编号统一为“序号.工作内容序号”（1.3）。
  报送写法：1.3 / 1-3 / 1_3 / 1、3（全角已在摄取时折叠为半角）；只有一项工作内容的序号可只写序号（5 → 5.1）；
  目标编号 T01…T15 经 plan_targets.task_item 对应到条目（T08 对应 2.3 与 2.4 两项，各一行）。
  Task progress, current version; task numbers normalised to item codes ("1.3"), target codes (T01…) mapped
  through plan_targets (one row per item they name).
-#}
with reports as (
    select
        cast(task_item as varchar)           as task_item_as_sent,
        cast(district_code as varchar)       as district_code,
        cast(status as varchar)              as status,
        cast(status_on as date)              as status_on,
        cast(task_name as varchar)           as task_name,
        nullif(trim(cast(evidence_doc_no as varchar)), '') as evidence_doc_no,
        cast(reporting_unit as varchar)      as reporting_unit,
        cast(remarks as varchar)             as remarks,
        _source_file,
        _source_row
    from {{ source('raw', 'task_progress_current') }}
),

targets as (
    {{ explode_list("(select target_id, string_split(task_item, '|') as items from " ~ ref('plan_targets') ~ ")",
                    ['target_id'], 'items', 'item_code') }}
),

coded as (
    select
        r.*,
        case
            when upper(r.task_item_as_sent) like 'T%' then null
            when r.task_item_as_sent not like '%.%' and r.task_item_as_sent not like '%-%'
                 and r.task_item_as_sent not like '%\_%' escape '\' and r.task_item_as_sent not like '%、%'
                then r.task_item_as_sent || '.1'
            else replace(replace(replace(r.task_item_as_sent, '-', '.'), '_', '.'), '、', '.')
        end                                   as direct_item_code
    from reports as r
)

select
    coalesce(c.direct_item_code, t.item_code) as item_code,
    c.task_item_as_sent,
    c.district_code,
    c.status,
    c.status_on,
    c.task_name,
    c.evidence_doc_no,
    c.reporting_unit,
    c.remarks,
    c._source_file,
    c._source_row
from coded as c
left join targets as t on c.direct_item_code is null and t.target_id = upper(c.task_item_as_sent)
