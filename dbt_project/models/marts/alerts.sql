{#-
  预警（闭环管理）：每条预警一行，状态 open 待处理 → acknowledged 已签收 → closed 已闭环，各状态带日期与依据记录。
  - 触发与关闭由数据决定（int_alerts_raised）：raised_on 为情形开始之日，closed_on 为消除它的数据之日，
    closed_by_record 指明该记录；报告日之后的数据不计。
  - 签收是人的行为：取预警签收数据（stg_alerts__acknowledgements，由 `sewershare ack` 写入 landing/alert_acks/），
    签收日期 ≤ 报告日的有效。已关闭的预警状态为 closed（不论是否签收）。
  - 责任单位：出水超标与数据不足 → 市生态环境局（在线监测）；进水BOD5 → 市综合执法局（T11 牵头）；
    排水许可 → 市综合执法局，排污许可 → 市生态环境局；项目 → 市建设局；进度滞后 → 该范围目标的牵头部门
    （建成区 市综合执法局，工业园区 市生态环境局）；执法整改 → 办案部门；报送逾期 → 数据源的报送单位（契约 owner）。
  Alerts with a closed loop: raised and closed by the data, acknowledged by people (docs/marts.md).
-#}
with raised as (
    select * from {{ ref('int_alerts_raised') }}
),

acks as (
    select * from {{ ref('stg_alerts__acknowledgements') }}
    where acknowledged_on <= {{ reporting_date() }}
),

plants as (
    select plant_id, plant_name, district_code from {{ ref('stg_plants__registry') }}
),

permits as (
    select permit_no, district_code from {{ ref('stg_permits__drainage') }}
    union all
    select permit_no, district_code from {{ ref('stg_permits__discharge') }}
),

rules as (
    {{ feed_delivery_rules() }}
),

placed as (
    select
        r.*,
        coalesce(pl.district_code, pm.district_code, pj.district_code, ec.district_code,
                 case when r.subject_type = 'district' then r.subject_id end,
                 case when r.subject_type = 'feed' then '331000' end)            as district_code,
        case
            when r.alert_type in ('effluent_exceedance', 'effluent_insufficient') then 'ecology_environment'
            when r.alert_type = 'bod5_low' then 'urban_management'
            when r.subject_type = 'drainage_permit' then 'urban_management'
            when r.subject_type = 'discharge_permit' then 'ecology_environment'
            when r.alert_type = 'project_overdue' then 'construction'
            when r.alert_type = 'progress_behind' and r.subject_part like 'built_up:%' then 'urban_management'
            when r.alert_type = 'progress_behind' then 'ecology_environment'
            when r.alert_type = 'rectification_overdue' then ec.source_bureau
        end                                                                     as responsible_unit,
        pl.plant_name,
        fr.title_zh                                                             as feed_title_zh,
        fr.owner                                                                as feed_owner
    from raised as r
    left join plants as pl on r.subject_type = 'plant' and pl.plant_id = r.subject_id
    left join permits as pm on r.subject_type in ('drainage_permit', 'discharge_permit') and pm.permit_no = r.subject_id
    left join {{ ref('project_portfolio') }} as pj on r.subject_type = 'project' and pj.project_id = r.subject_id
    left join {{ ref('stg_enforcement__cases') }} as ec on r.subject_type = 'enforcement_case' and ec.case_id = r.subject_id
    left join rules as fr on r.subject_type = 'feed' and fr.feed = r.subject_id
),

factor_names as (
    select * from (values ('cod', '化学需氧量'), ('nh3n', '氨氮'), ('tn', '总氮'), ('tp', '总磷'), ('ph', 'pH'))
        as f(factor, name_zh)
)

select
    p.alert_key,
    p.alert_type,
    case p.alert_type
        when 'effluent_exceedance' then '出水超标'
        when 'effluent_insufficient' then '出水数据不足'
        when 'bod5_low' then '进水BOD5偏低'
        when 'permit_expiring' then '许可证到期'
        when 'project_overdue' then '项目逾期'
        when 'progress_behind' then '进度滞后'
        when 'rectification_overdue' then '执法整改逾期'
        when 'feed_overdue' then '报送逾期'
    end                                                                          as alert_type_zh,
    p.subject_type,
    p.subject_id,
    p.subject_part,
    p.district_code,
    d.name_zh                                                                    as district_name,
    p.responsible_unit,
    coalesce(dn.name_zh, p.feed_owner)                                           as responsible_unit_name,
    case p.alert_type
        when 'effluent_exceedance' then
            coalesce(p.plant_name, p.subject_id) || '出水' || coalesce(f.name_zh, p.subject_part) || '自'
            || cast(p.raised_on as varchar) || '起超标（日均值最高 ' || cast(round(p.worst_value, 2) as varchar)
            || ' mg/L，限值 ' || cast(p.limit_value as varchar) || ' mg/L，超标 ' || cast(p.occurrences as varchar) || ' 天）'
        when 'effluent_insufficient' then
            coalesce(p.plant_name, p.subject_id) || '出水' || coalesce(f.name_zh, p.subject_part) || '自'
            || cast(p.raised_on as varchar) || '起有效小时数不足 ' || cast(cast(p.limit_value as integer) as varchar)
            || ' 小时（' || cast(p.occurrences as varchar) || ' 天），日均值不能判定达标'
        when 'bod5_low' then
            coalesce(p.plant_name, p.subject_id) || '自' || substr(cast(p.raised_on as varchar), 1, 7)
            || '起月均进水BOD5不高于100 mg/L（最低 ' || cast(round(p.worst_value, 1) as varchar) || ' mg/L，'
            || cast(p.occurrences as varchar) || ' 个月），管网可能存在外水入渗'
        when 'permit_expiring' then
            case p.subject_type when 'drainage_permit' then '排水许可证 ' else '排污许可证 ' end || p.subject_id
            || ' 将于 ' || cast(cast({{ dbt.dateadd('day', var('alert_permit_days'), 'p.raised_on') }} as date) as varchar) || ' 到期，尚未换证'
        when 'project_overdue' then
            '改造项目 ' || p.subject_id || ' 计划完工日已过仍未完工'
        when 'progress_behind' then
            coalesce(d.name_zh, p.subject_id)
            || case when p.subject_part like 'built_up:%' then '建成区' else '工业园区' end
            || case when p.subject_part like '%:inspected' then '排查评估' else '问题管网改造' end
            || '自' || cast(p.raised_on as varchar) || '起未达参考进度（最低 ' || coalesce(cast(round(p.worst_value, 1) as varchar), '0')
            || '%，参考进度 ' || cast(round(p.limit_value, 1) as varchar) || '%）'
        when 'rectification_overdue' then
            '执法案件 ' || p.subject_id || ' 整改期限已过仍未整改完成'
        when 'feed_overdue' then
            coalesce(p.feed_title_zh, p.subject_id) || '超过 ' || cast(cast(p.limit_value as integer) as varchar)
            || ' 天未报送新文件（报送频率见数据契约）'
    end                                                                          as message_zh,
    p.raised_on,
    p.raised_by_record,
    a.acknowledged_on,
    a.acknowledged_by,
    a.action                                                                     as acknowledged_action,
    a._source_file                                                               as acknowledged_by_record,
    p.closed_on,
    p.closed_by_record,
    case when p.closed_on is not null then 'closed'
         when a.acknowledged_on is not null then 'acknowledged'
         else 'open' end                                                         as state,
    case when p.closed_on is not null then '已闭环'
         when a.acknowledged_on is not null then '已签收'
         else '待处理' end                                                       as state_zh,
    {{ dbt.datediff('p.raised_on', 'coalesce(p.closed_on, ' ~ reporting_date() ~ ')', 'day') }} as age_days,
    p.occurrences,
    {{ reporting_date() }}                                                       as as_of
from placed as p
left join acks as a on a.alert_key = p.alert_key
left join {{ ref('districts') }} as d on d.district_code = p.district_code
left join {{ ref('departments') }} as dn on dn.dept_code = p.responsible_unit
left join factor_names as f on f.factor = p.subject_part
