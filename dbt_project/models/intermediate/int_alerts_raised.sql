{#-
  预警的触发与关闭（签收另见 marts.alerts）：每条预警一行，alert_key 由触发它的数据确定（类型|对象|起始日期），
  故同一情形每次重建都得到同一条预警（只触发一次），并由消除它的数据关闭（闭环）：
  - effluent_exceedance 出水超标：厂 × 因子的连续超标日（中间的数据不足日不中断）为一条，
    起于第一个超标日，由其后第一个达标日关闭。
  - effluent_insufficient 出水数据不足：厂 × 因子的连续数据不足日为一条，由其后第一个有效数据日关闭。
  - bod5_low 进水BOD5偏低：城市污水处理厂月均进水 BOD5 ≤ 100 mg/L 的连续月份为一条，由其后第一个 > 100 的月份关闭。
  - permit_expiring 许可证到期：排水许可、排污许可的每个有效期（含历史版本）在有效期止前 var alert_permit_days（30）天起预警，
    由延续（同一证号有效期更晚的版本：新发证日，未变时为载入日）或同一持证单位、同一接驳井/排放口的新证（发证日）关闭；
    在预警期开始前已换证的不预警；当前版本为注销/吊销的不预警。
  - project_overdue 项目逾期：计划完工日已过仍未完工，由实际完工关闭。
  - progress_behind 进度滞后：区县（含全市）× 范围 × 指标（排查/整改）在月末未达参考进度的连续月份为一条，
    由其后第一个达到参考进度的月末关闭。
  - rectification_overdue 执法整改逾期：整改期限已过仍未整改完成（不予处罚的案件除外），由整改完成日期关闭。
  - feed_overdue 报送逾期：某数据源超过其报送频率允许的天数（契约 cadence → pipelines.contracts
    CADENCE_OVERDUE_AFTER_DAYS，经 var feed_delivery_rules 传入）没有新文件载入，由下一个载入的文件关闭。
  只看报告日及以前的数据。Alerts raised and closed by the data, one row per alert with a stable key.
-#}
with effluent as (
    select * from {{ ref('int_alert_effluent_days') }}
),

exceed_days as (
    select
        e.*,
        (select min(c.date) from effluent as c
         where c.plant_id = e.plant_id and c.factor = e.factor and c.date > e.date and c.day_state = 'compliant') as closer
    from effluent as e
    where e.day_state = 'exceeded'
),

exceedances as (
    select
        'effluent_exceedance'                                        as alert_type,
        'plant'                                                      as subject_type,
        x.plant_id                                                   as subject_id,
        x.factor                                                     as subject_part,
        min(x.date)                                                  as raised_on,
        x.closer                                                     as closed_on,
        count(*)                                                     as occurrences,
        max(x.daily_mean)                                            as worst_value,
        max(x.limit_mg_l)                                            as limit_value,
        'effluent_compliance_daily ' || x.plant_id || ' ' || x.factor || ' ' || cast(min(x.date) as varchar)
                                                                     as raised_by_record,
        case when x.closer is not null then
            'effluent_compliance_daily ' || x.plant_id || ' ' || x.factor || ' ' || cast(x.closer as varchar) || ' 达标'
        end                                                          as closed_by_record
    from exceed_days as x
    group by x.plant_id, x.factor, x.closer
),

insufficient_days as (
    select
        e.*,
        (select min(c.date) from effluent as c
         where c.plant_id = e.plant_id and c.factor = e.factor and c.date > e.date
           and c.day_state <> 'insufficient') as closer
    from effluent as e
    where e.day_state = 'insufficient'
),

insufficient as (
    select
        'effluent_insufficient', 'plant', x.plant_id, x.factor, min(x.date), x.closer, count(*),
        min(x.valid_hours), cast({{ var('min_valid_hours') }} as double),
        'effluent_compliance_daily ' || x.plant_id || ' ' || x.factor || ' ' || cast(min(x.date) as varchar),
        case when x.closer is not null then
            'effluent_compliance_daily ' || x.plant_id || ' ' || x.factor || ' ' || cast(x.closer as varchar) || ' 有效数据'
        end
    from insufficient_days as x
    group by x.plant_id, x.factor, x.closer
),

bod5_months as (
    select plant_id, month, mean_influent_bod5_mg_l as bod5
    from {{ ref('plant_influent_monthly') }}
    where plant_type = 'municipal' and mean_influent_bod5_mg_l is not null and month <= {{ reporting_date() }}
),

bod5_low_months as (
    select
        b.*,
        (select min(c.month) from bod5_months as c where c.plant_id = b.plant_id and c.month > b.month and c.bod5 > 100)
            as closer
    from bod5_months as b
    where b.bod5 <= 100
),

bod5_low as (
    select
        'bod5_low', 'plant', plant_id, cast(null as varchar), min(month), closer, count(*), min(bod5), 100.0,
        'plant_influent_monthly ' || plant_id || ' ' || cast(min(month) as varchar),
        case when closer is not null then
            'plant_influent_monthly ' || plant_id || ' ' || cast(closer as varchar) || ' BOD5 > 100 mg/L' end
    from bod5_low_months
    group by plant_id, closer
),

permit_versions as (
    -- every version of every permit (raw history): a renewal that keeps the permit number shows as a later
    -- version with a later valid_until; its issue date (or, when unchanged, the day it was loaded) closes the alert
    select 'drainage' as kind, permit_no, credit_code, connection_manhole_id as site, issued_on, valid_until,
           status, cast(_valid_from as date) as loaded_on, _is_current
    from {{ source('raw', 'drainage_permits') }}
    union all
    -- 登记管理 (registration) is no permit (HJ 608 / 排污许可管理条例): its record does not expire into a duty
    select 'discharge', permit_no, credit_code, outfall_id, valid_from, valid_until, 'valid',
           cast(_valid_from as date), _is_current
    from {{ source('raw', 'discharge_permits') }}
    where coalesce(management_class, '') <> 'registration'
),

permit_terms as (
    -- one term per permit and validity end; a permit revoked in its current version is not alerted
    select kind, permit_no, valid_until, min(credit_code) as credit_code, min(site) as site, min(issued_on) as issued_on
    from permit_versions as v
    where valid_until is not null
      and not exists (select 1 from permit_versions as c where c.kind = v.kind and c.permit_no = v.permit_no
                      and c._is_current and coalesce(c.status, 'valid') = 'revoked')
    group by kind, permit_no, valid_until
),

renewals as (
    -- the same permit with a later validity end …
    select t.kind, t.permit_no, t.valid_until, n.permit_no as renewal_no,
           case when n.issued_on > t.issued_on then n.issued_on else n.loaded_on end as renewed_on
    from permit_terms as t
    inner join permit_versions as n on n.kind = t.kind and n.permit_no = t.permit_no and n.valid_until > t.valid_until
    union all
    -- … or a new permit of the same holder for the same connection (drainage) or outfall (discharge)
    select t.kind, t.permit_no, t.valid_until, n.permit_no, n.issued_on
    from permit_terms as t
    inner join permit_versions as n
        on n.kind = t.kind and n.permit_no <> t.permit_no and n._is_current and n.credit_code = t.credit_code
       and n.site = t.site and n.valid_until > t.valid_until and coalesce(n.status, 'valid') <> 'revoked'
),

expiring as (
    select
        t.kind, t.permit_no, t.valid_until,
        cast({{ dbt.dateadd('day', -1 * var('alert_permit_days'), 't.valid_until') }} as date) as warn_from,
        min(r.renewed_on)                                                                    as renewed_on,
        min(r.renewal_no)                                                                    as renewal_no
    from permit_terms as t
    left join renewals as r
        on r.kind = t.kind and r.permit_no = t.permit_no and r.valid_until = t.valid_until
       and r.renewed_on <= {{ reporting_date() }}
    group by t.kind, t.permit_no, t.valid_until
),

permit_alerts as (
    select
        'permit_expiring', case kind when 'drainage' then 'drainage_permit' else 'discharge_permit' end,
        permit_no, cast(null as varchar), warn_from, renewed_on, 1,
        cast(null as double), cast(null as double),
        'stg_permits__' || kind || ' ' || permit_no || ' 有效期至 ' || cast(valid_until as varchar),
        case when renewed_on is not null then 'stg_permits__' || kind || ' ' || renewal_no || ' 换发/延续 '
                                              || cast(renewed_on as varchar) end
    from expiring
    where warn_from <= {{ reporting_date() }}
      and (renewed_on is null or renewed_on >= warn_from)
),

projects as (
    select
        'project_overdue', 'project', project_id, cast(null as varchar),
        cast({{ dbt.dateadd('day', 1, 'planned_completion_on') }} as date),
        case when actual_completion_on <= {{ reporting_date() }} then actual_completion_on end,
        1, cast(completion_delay_days as double), cast(null as double),
        'project_portfolio ' || project_id || ' 计划完工 ' || cast(planned_completion_on as varchar),
        case when actual_completion_on <= {{ reporting_date() }} then
            'project_portfolio ' || project_id || ' 实际完工 ' || cast(actual_completion_on as varchar) end
    from {{ ref('project_portfolio') }}
    where planned_completion_on < {{ reporting_date() }}
      and (actual_completion_on is null or actual_completion_on > planned_completion_on)
),

progress_rows as (
    select district_code, scope, 'inspected' as metric, as_of, inspected_on_track as on_track,
           inspected_pct as value_pct, inspected_expected_pct as expected_pct
    from {{ ref('district_progress') }}
    where as_of <= {{ reporting_date() }}
    union all
    select district_code, scope, 'rectified', as_of, rectified_on_track, rectified_pct, rectified_expected_pct
    from {{ ref('district_progress') }}
    where as_of <= {{ reporting_date() }}
),

behind_rows as (
    select
        b.*,
        (select min(c.as_of) from progress_rows as c
         where c.district_code = b.district_code and c.scope = b.scope and c.metric = b.metric
           and c.as_of > b.as_of and c.on_track) as closer
    from progress_rows as b
    where not b.on_track
),

behind as (
    select
        'progress_behind', 'district', district_code, scope || ':' || metric, min(as_of), closer, count(*),
        min(value_pct), max(expected_pct),
        'district_progress ' || district_code || ' ' || scope || ' ' || metric || ' ' || cast(min(as_of) as varchar),
        case when closer is not null then
            'district_progress ' || district_code || ' ' || scope || ' ' || metric || ' ' || cast(closer as varchar)
            || ' 达到参考进度' end
    from behind_rows
    group by district_code, scope, metric, closer
),

rectifications as (
    select
        'rectification_overdue', 'enforcement_case', case_id, cast(null as varchar),
        cast({{ dbt.dateadd('day', 1, 'rectify_by') }} as date),
        case when rectified_on <= {{ reporting_date() }} then rectified_on end,
        1, cast(null as double), cast(null as double),
        'stg_enforcement__cases ' || case_id || ' 整改期限 ' || cast(rectify_by as varchar),
        case when rectified_on <= {{ reporting_date() }} then
            'stg_enforcement__cases ' || case_id || ' 整改完成 ' || cast(rectified_on as varchar) end
    from {{ ref('stg_enforcement__cases') }}
    where rectify_by < {{ reporting_date() }}
      and coalesce(case_status, '') <> 'dismissed'
      and (rectified_on is null or rectified_on > rectify_by)
),

delivery_rules as (
    {{ feed_delivery_rules() }}
),

deliveries as (
    select d.feed, d.delivered_on, d.file_name, r.overdue_after_days,
           lead(d.delivered_on) over (partition by d.feed order by d.delivered_on, d.file_id) as next_on,
           lead(d.file_name) over (partition by d.feed order by d.delivered_on, d.file_id)    as next_file
    from (select feed, delivered_on, file_name, file_id from {{ ref('stg_audit__deliveries') }}
          where delivered_on <= {{ reporting_date() }}) as d
    inner join delivery_rules as r on r.feed = d.feed
),

feeds as (
    select
        'feed_overdue', 'feed', feed, cast(null as varchar),
        cast({{ dbt.dateadd('day', 'overdue_after_days + 1', 'delivered_on') }} as date),
        next_on, 1, cast({{ dbt.datediff('delivered_on', 'coalesce(next_on, ' ~ reporting_date() ~ ')', 'day') }} as double),
        cast(overdue_after_days as double),
        'audit.file_registry ' || feed || ' ' || file_name || ' ' || cast(delivered_on as varchar),
        case when next_on is not null then 'audit.file_registry ' || feed || ' ' || next_file end
    from deliveries
    where {{ dbt.datediff('delivered_on', 'coalesce(next_on, ' ~ reporting_date() ~ ')', 'day') }} > overdue_after_days
),

alerts as (
    select * from exceedances
    union all select * from insufficient
    union all select * from bod5_low
    union all select * from permit_alerts
    union all select * from projects
    union all select * from behind
    union all select * from rectifications
    union all select * from feeds
)

select
    alert_type || '|' || subject_id || coalesce('|' || subject_part, '') || '|' || cast(raised_on as varchar) as alert_key,
    *
from alerts
