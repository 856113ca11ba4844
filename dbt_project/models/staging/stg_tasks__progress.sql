{#-
  行动方案任务进展（当前版本），对应到任务表条目（item_code = 序号.工作内容序号，如 1.3）：
  1. 有任务编号时以编号为准：1.3 / 1-3 / 1_3 / 1、3（全角已在摄取时折叠为半角）；只有一项的序号可只写序号（5 → 5.1）；
     目标编号 T01…T15 经 plan_targets.task_item 对应（T08 对应 2.3 与 2.4 两项，各一行）。
  2. 否则按任务名称：去掉空白与标点后包含 plan_task_aliases 的别名，取最长（最具体）的别名所指条目。
  对应不上的 item_code 为空（关系测试报警，记录仍保留）。status_on 未填时按送达（载入）日期计。
  Task progress mapped to task-table items: by the task number when given, else by the longest alias contained
  in the task name; an undated report counts from the day it arrived.
-#}
with reports as (
    select
        cast(task as varchar)                 as task,
        nullif(trim(cast(task_item as varchar)), '') as task_item_as_sent,
        cast(district_code as varchar)        as district_code,
        cast(status as varchar)               as status,
        cast(status_on as date)               as status_on_as_sent,
        coalesce(cast(status_on as date), cast(_valid_from as date)) as status_on,
        nullif(trim(cast(evidence_doc_no as varchar)), '') as evidence_doc_no,
        cast(reporting_unit as varchar)       as reporting_unit,
        cast(remarks as varchar)              as remarks,
        regexp_replace(cast(task as varchar), '[[:space:][:punct:]，。、；：（）“”《》—]', '', 'g') as task_key,
        _source_file,
        _source_row
    from {{ source('raw', 'task_progress_current') }}
),

targets as (
    -- plan_targets.task_item names a 序号 with one item by the 序号 alone (T12 → 6): that is item 6.1
    select target_id, case when item_code like '%.%' then item_code else item_code || '.1' end as item_code
    from (
        {{ explode_list("(select target_id, string_split(task_item, '|') as items from " ~ ref('plan_targets') ~ ")",
                        ['target_id'], 'items', 'item_code') }}
    ) as t
),

numbered as (
    select
        r.*,
        case
            when r.task_item_as_sent is null or upper(r.task_item_as_sent) like 'T%' then null
            when r.task_item_as_sent not like '%.%' and r.task_item_as_sent not like '%-%'
                 and r.task_item_as_sent not like '%\_%' escape '\' and r.task_item_as_sent not like '%、%'
                then r.task_item_as_sent || '.1'
            else replace(replace(replace(r.task_item_as_sent, '-', '.'), '_', '.'), '、', '.')
        end                                   as direct_item_code
    from reports as r
),

by_number as (
    select n.*, coalesce(n.direct_item_code, t.item_code) as numbered_item_code
    from numbered as n
    left join targets as t on n.direct_item_code is null and t.target_id = upper(n.task_item_as_sent)
),

by_name as (
    select
        b.*,
        a.item_code                           as named_item_code,
        row_number() over (partition by b._source_file, b._source_row, b.numbered_item_code
                           order by length(a.alias) desc, a.item_code)                     as alias_rank
    from by_number as b
    left join {{ ref('plan_task_aliases') }} as a
        on b.numbered_item_code is null and position(a.alias in b.task_key) > 0
)

select
    coalesce(numbered_item_code, named_item_code) as item_code,
    case when numbered_item_code is not null then 'number' when named_item_code is not null then 'name' end
                                                 as matched_by,
    task,
    task_item_as_sent,
    district_code,
    status,
    status_on,
    status_on_as_sent,
    evidence_doc_no,
    reporting_unit,
    remarks,
    _source_file,
    _source_row
from by_name
where alias_rank = 1
