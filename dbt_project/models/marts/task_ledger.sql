{#-
  任务清单（督查台账）：行动方案任务表每个工作条目 × 区县（市级条目为全市）× 责任单位（牵头/协同/实施主体）一行，
  含期限与状态：未开始 / 进行中 / 已完成 / 逾期 / 已销号。
  - 数据能衡量的条目（排查率、整改率、BOD5 规模占比、普查数据库、项目开工）：状态由专题库测算（int_ledger_measures）。
    全部目标达到 → 已完成（完成日期 = 最后一个目标首次达到的日期）；有已到期的目标报告日仍未达到 → 逾期；
    有进展 → 进行中；否则未开始。部门报送的“已销号”只在数据也已完成时采纳；报送已完成而数据未完成时以数据为准，
    并标记 reported_conflicts（报送与数据不符）。
  - 其余条目：状态取部门报送（int_ledger_reports）的最新一条；未报送为未开始；报送“滞后”为逾期；
    期限已过仍为未开始或进行中的为逾期。
  - 逾期条目给出牵头部门（lead_units）。状态对同一条目 × 区县的所有责任单位相同。
  Task ledger: every work item of the plan's task table × district × responsible unit, with deadline and status;
  measured items take their status from the marts, the others from the task-progress feed (docs/marts.md).
-#}
with units as (
    select * from {{ ref('int_ledger_units') }}
),

measures as (
    select * from {{ ref('int_ledger_measures') }}
),

measured as (
    select
        item_code,
        district_code,
        count(*)                                                                     as targets,
        count(case when met then 1 end)                                              as targets_met,
        max(case when not met and deadline < {{ reporting_date() }} then 1 else 0 end) = 1 as target_missed,
        min(case when not met then deadline end)                                     as next_deadline,
        max(deadline)                                                                as last_deadline,
        max(reached_on)                                                              as last_reached_on,
        max(case when met and reached_on > deadline then 1 else 0 end) = 1           as reached_late,
        max(case when coalesce(value_pct, 0) > 0 then 1 else 0 end) = 1              as has_progress,
        string_agg(measure_zh, '；' order by deadline, target_id)                     as measure_zh
    from measures
    group by item_code, district_code
),

reports as (
    select * from {{ ref('int_ledger_reports') }}
),

statused as (
    select
        u.*,
        m.measure_zh,
        r.reported_status,
        r.reported_on,
        r.evidence_doc_no,
        r.reporting_unit,
        r.remarks                                                                    as report_remarks,
        r._source_file                                                               as report_source_file,
        r.closed_off_on,
        case when u.measure is not null then 'data' when r.reported_status is not null then 'report' else 'none' end
                                                                                     as status_source,
        case
            when u.measure is not null then
                case
                    when m.targets_met = m.targets and r.closed_off_on is not null then 'closed_off'
                    when m.targets_met = m.targets then 'completed'
                    when m.target_missed then 'overdue'
                    when m.has_progress then 'in_progress'
                    else 'not_started'
                end
            else
                case
                    when r.reported_status = 'closed_off' then 'closed_off'
                    when r.reported_status = 'completed' then 'completed'
                    when r.reported_status = 'behind' then 'overdue'
                    when u.deadline < {{ reporting_date() }} then 'overdue'
                    when r.reported_status = 'in_progress' then 'in_progress'
                    else 'not_started'
                end
        end                                                                          as status,
        case
            when u.measure is not null then
                case when m.targets_met = m.targets then m.last_reached_on end
            else
                case when r.reported_status in ('completed', 'closed_off')
                     then coalesce(r.reported_completed_on, r.reported_on) end
        end                                                                          as completed_on,
        case when u.measure is not null then coalesce(m.next_deadline, m.last_deadline, u.deadline)
             else u.deadline end                                                     as current_deadline,
        m.reached_late
    from units as u
    left join measured as m on m.item_code = u.item_code and m.district_code = u.district_code
    left join reports as r on r.item_code = u.item_code and r.district_code = u.district_code
    -- a measured item a district has no network for (no industrial park, say) does not apply there
    where u.measure is null or m.targets is not null
)

select
    item_code || '|' || district_code || '|' || unit_code                          as ledger_key,
    item_code,
    task_no,
    item_no,
    task_zh,
    item_zh,
    milestone_zh,
    district_code,
    district_name,
    unit_code,
    unit_name,
    unit_role,
    unit_role_zh,
    lead_units,
    current_deadline                                                                as deadline,
    status,
    case status when 'not_started' then '未开始' when 'in_progress' then '进行中' when 'completed' then '已完成'
                when 'overdue' then '逾期' when 'closed_off' then '已销号' end          as status_zh,
    status = 'overdue'                                                              as is_overdue,
    case when status = 'overdue' and current_deadline < {{ reporting_date() }}
         then {{ dbt.datediff('current_deadline', reporting_date(), 'day') }} end  as overdue_days,
    completed_on,
    coalesce(completed_on > current_deadline, reached_late, false)                  as completed_late,
    status_source,
    case status_source when 'data' then '数据测算' when 'report' then '部门报送' else '未报送' end as status_source_zh,
    measure_zh,
    reported_status,
    reported_on,
    evidence_doc_no,
    reporting_unit,
    report_remarks,
    report_source_file,
    status in ('completed', 'closed_off') and status_source = 'report' and evidence_doc_no is null
                                                                                    as evidence_missing,
    status_source = 'data' and reported_status in ('completed', 'closed_off')
        and status not in ('completed', 'closed_off')                               as reported_conflicts,
    {{ reporting_date() }}                                                          as as_of
from statused
