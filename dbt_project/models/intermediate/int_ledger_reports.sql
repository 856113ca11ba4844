{#-
  每个任务条目 × 区县的最新报送（状态日期 ≤ 报告日）：最新状态日期的一条；同日多条取进展最靠后的
  （已销号 > 已完成 > 滞后 > 进行中 > 未开始）。另给出最早的“已完成”日期与“已销号”记录。
  Latest reported status per item and district on the reporting date, the first completion and the strike-off.
-#}
with reports as (
    select
        *,
        case status when 'closed_off' then 5 when 'completed' then 4 when 'behind' then 3
                    when 'in_progress' then 2 when 'not_started' then 1 else 0 end as status_rank
    from {{ ref('stg_tasks__progress') }}
    where status_on <= {{ reporting_date() }} and item_code is not null
),

ranked as (
    select
        *,
        row_number() over (partition by item_code, district_code
                           order by status_on desc, status_rank desc, _source_file desc, _source_row desc) as recency
    from reports
),

milestones as (
    select
        item_code,
        district_code,
        min(case when status = 'completed' then status_on end)   as reported_completed_on,
        min(case when status = 'closed_off' then status_on end)  as closed_off_on,
        count(*)                                                  as reports
    from reports
    group by item_code, district_code
)

select
    r.item_code,
    r.district_code,
    r.status                      as reported_status,
    r.status_on                   as reported_on,
    r.evidence_doc_no,
    r.reporting_unit,
    r.remarks,
    r.task_item_as_sent,
    r._source_file,
    r._source_row,
    m.reported_completed_on,
    m.closed_off_on,
    m.reports
from ranked as r
inner join milestones as m on m.item_code = r.item_code and m.district_code = r.district_code
where r.recency = 1
