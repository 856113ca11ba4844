{#-
  排水户/排污单位画像：每个统一社会信用代码一行（无信用代码的个人执法对象不在此表）。
  downstream_plant_id：从有效（否则最近到期的）排水许可的接驳井沿管网追踪到的污水处理厂；
  declared_plant_id：排污许可申报的受纳污水处理厂；两者都有且追踪结果中不含申报厂时 plant_disagrees。
  两项义务分别判定：
  - 排水许可：向城镇排水设施排放污水的排水户都须取得（《城镇污水排入排水管网许可管理办法》第四条）。排水户 = 有排水许可
    记录，或排污许可的排放去向为进入污水处理厂（间接排放）。lacks_drainage_permit = 是排水户而报告日无有效排水许可。
  - 排污许可：只有管理类别为重点管理或简化管理的须取得（《排污许可管理条例》第二条、《固定污染源排污许可分类管理名录
    （2019年版）》第二条：登记管理的不需申请排污许可证，填报排污登记表）。管理类别取最近一份排污许可记录；无记录为未知。
  执法：只计以违法告终的案件（已处罚、已结案；“不予处罚”与未结案件不计）——屡犯（var repeat_offender_window_days 天内
  至少两起违法案件）、罚款合计、最近违法日期都只看这些案件。许可将在 var permit_expiry_warning_days 天内到期另行标出。
  connected_to_storm：接驳井只连雨水管（分流地区禁止把污水排入雨水管网，同办法第四条）。
  One row per credit code: permits, connection manhole, traced vs declared plant, the two permit duties flagged
  separately, enforcement history counted on cases that ended in a violation, and flags, on the reporting date.
-#}
with drainage as (
    select
        d.*,
        {{ drainage_permit_is_valid('d.status', 'd.issued_on', 'd.valid_until', reporting_date()) }} as is_valid,
        row_number() over (partition by d.credit_code
                           order by {{ drainage_permit_is_valid('d.status', 'd.issued_on', 'd.valid_until', reporting_date()) }} desc,
                                    d.valid_until desc, d.permit_no) as preference
    from {{ ref('stg_permits__drainage') }} as d
    where d.credit_code is not null
),

discharge as (
    select
        p.*,
        p.valid_from <= {{ reporting_date() }} and p.valid_until >= {{ reporting_date() }} as is_valid,
        row_number() over (partition by p.credit_code
                           order by (p.valid_from <= {{ reporting_date() }} and p.valid_until >= {{ reporting_date() }}) desc,
                                    p.valid_until desc, p.permit_no) as preference
    from {{ ref('stg_permits__discharge') }} as p
    where p.credit_code is not null
),

cases as (
    select
        c.*,
        -- ended in a violation: penalised or closed (a blank status with a penalty decision is penalised);
        -- 不予处罚 (dismissed) and cases still open do not count
        coalesce(c.case_status in ('penalised', 'closed'), c.decision_no is not null) as is_violation
    from {{ ref('int_enforcement_located') }} as c
    where c.credit_code is not null
),

violations as (
    select * from cases where is_violation
),

codes as (
    select credit_code from drainage
    union
    select credit_code from discharge
    union
    select credit_code from cases
),

plant_of_manhole as (
    select manhole_id, min(plant_id) as plant_id
    from {{ ref('int_manhole_plant') }}
    group by manhole_id
),

storm_only_manholes as (
    select manhole_id
    from (
        select start_manhole_id as manhole_id, pipe_category from {{ ref('stg_census__pipes') }}
        union all
        select end_manhole_id, pipe_category from {{ ref('stg_census__pipes') }}
    ) as ends
    where manhole_id is not null
    group by manhole_id
    having count(case when pipe_category <> 'storm' then 1 end) = 0
),

drainage_summary as (
    select
        d.credit_code,
        count(*)                                                         as drainage_permits,
        {{ joined_distinct('d.permit_no') }}                             as drainage_permit_nos,
        max(case when d.is_valid then 1 else 0 end) = 1                  as has_valid_drainage_permit,
        max(d.valid_until)                                               as drainage_valid_until,
        {{ exact_sum('case when d.is_valid then d.permitted_volume_m3d else 0 end') }} as valid_permitted_volume_m3d,
        max(case when d.holder_type = 'individual' then 1 else 0 end) = 1 as holder_is_individual,
        {{ joined_distinct('d.connection_manhole_id') }}                 as connection_manhole_ids,
        {{ joined_distinct('pm.plant_id') }}                             as downstream_plant_ids,
        max(case when so.manhole_id is not null then 1 else 0 end) = 1   as connected_to_storm,
        max(case when d.is_valid and d.valid_until <= {{ dbt.dateadd('day', var('permit_expiry_warning_days'), reporting_date()) }}
                 then 1 else 0 end) = 1                                  as drainage_expiring
    from drainage as d
    left join plant_of_manhole as pm on pm.manhole_id = d.connection_manhole_id
    left join storm_only_manholes as so on so.manhole_id = d.connection_manhole_id
    group by d.credit_code
),

primary_drainage as (
    select d.credit_code, d.holder_name, d.connection_manhole_id, d.district_code, pm.plant_id
    from drainage as d
    left join plant_of_manhole as pm on pm.manhole_id = d.connection_manhole_id
    where d.preference = 1
),

discharge_summary as (
    select
        credit_code,
        count(*)                                                         as discharge_permits,
        {{ joined_distinct('permit_no') }}                               as discharge_permit_nos,
        max(case when is_valid then 1 else 0 end) = 1                    as has_valid_discharge_permit,
        max(valid_until)                                                 as discharge_valid_until,
        {{ joined_distinct('receiving_plant_id') }}                      as declared_plant_ids,
        max(case when discharge_destination in ('municipal_plant', 'industrial_plant') then 1 else 0 end) = 1
                                                                         as discharges_to_sewer,
        max(case when is_valid and valid_until <= {{ dbt.dateadd('day', var('permit_expiry_warning_days'), reporting_date()) }}
                 then 1 else 0 end) = 1                                  as discharge_expiring
    from discharge
    group by credit_code
),

primary_discharge as (
    select credit_code, holder_name, receiving_plant_id, management_class, industry, district_code
    from discharge
    where preference = 1
),

latest_class as (
    -- the management class of the latest discharge-permit record decides whether a permit is required
    select credit_code, management_class
    from (
        select credit_code, management_class,
               row_number() over (partition by credit_code order by valid_from desc, permit_no desc) as recency
        from discharge
    ) as d
    where recency = 1
),

case_gaps as (
    select
        credit_code,
        inspected_on,
        {{ dbt.datediff('lag(inspected_on) over (partition by credit_code order by inspected_on)', 'inspected_on', 'day') }}
                                                                         as days_since_previous
    from violations
),

case_summary as (
    select
        c.credit_code,
        count(*)                                                         as enforcement_cases,
        count(case when c.is_violation then 1 end)                       as violation_cases,
        round(coalesce({{ exact_sum('case when c.is_violation then c.penalty_yuan end') }}, 0), 2) as penalties_yuan,
        max(case when c.is_violation then c.inspected_on end)            as last_violation_on,
        max(c.subject_name)                                              as subject_name,
        max(c.district_code)                                             as district_code
    from cases as c
    group by c.credit_code
),

repeat_offenders as (
    select distinct credit_code
    from case_gaps
    where days_since_previous <= {{ var('repeat_offender_window_days') }}
)

select
    k.credit_code,
    coalesce(pdis.holder_name, pdr.holder_name, cs.subject_name)             as name,
    coalesce(ds.holder_is_individual, false)                                as holder_is_individual,
    coalesce(pdr.district_code, pdis.district_code, cs.district_code)       as district_code,
    pdis.industry,
    pdis.management_class,
    coalesce(ds.drainage_permits, 0)                                        as drainage_permits,
    ds.drainage_permit_nos,
    coalesce(ds.has_valid_drainage_permit, false)                           as has_valid_drainage_permit,
    ds.drainage_valid_until,
    round(coalesce(ds.valid_permitted_volume_m3d, 0), 2)                    as valid_permitted_volume_m3d,
    coalesce(dis.discharge_permits, 0)                                      as discharge_permits,
    dis.discharge_permit_nos,
    coalesce(dis.has_valid_discharge_permit, false)                         as has_valid_discharge_permit,
    dis.discharge_valid_until,
    pdr.connection_manhole_id,
    ds.connection_manhole_ids,
    pdr.plant_id                                                            as downstream_plant_id,
    ds.downstream_plant_ids,
    pdis.receiving_plant_id                                                 as declared_plant_id,
    coalesce(
        pdis.receiving_plant_id is not null and ds.downstream_plant_ids is not null
        and position('|' || pdis.receiving_plant_id || '|' in '|' || ds.downstream_plant_ids || '|') = 0,
        false)                                                              as plant_disagrees,
    coalesce(cs.enforcement_cases, 0)                                       as enforcement_cases,
    coalesce(cs.violation_cases, 0)                                         as violation_cases,
    coalesce(cs.penalties_yuan, 0)                                          as penalties_yuan,
    cs.last_violation_on,
    ds.credit_code is not null or coalesce(dis.discharges_to_sewer, false) as needs_drainage_permit,
    (ds.credit_code is not null or coalesce(dis.discharges_to_sewer, false))
        and not coalesce(ds.has_valid_drainage_permit, false)               as lacks_drainage_permit,
    case when lc.management_class in ('key', 'simplified') then true
         when lc.management_class = 'registration' then false end          as discharge_permit_required,
    coalesce(lc.management_class in ('key', 'simplified'), false)
        and not coalesce(dis.has_valid_discharge_permit, false)             as lacks_discharge_permit,
    coalesce(ds.connected_to_storm, false)                                  as connected_to_storm,
    ro.credit_code is not null                                              as is_repeat_offender,
    coalesce(ds.drainage_expiring, false) or coalesce(dis.discharge_expiring, false)
                                                                            as permit_expiring_soon,
    {{ reporting_date() }}                                                  as as_of
from codes as k
left join drainage_summary as ds on ds.credit_code = k.credit_code
left join primary_drainage as pdr on pdr.credit_code = k.credit_code
left join discharge_summary as dis on dis.credit_code = k.credit_code
left join primary_discharge as pdis on pdis.credit_code = k.credit_code
left join case_summary as cs on cs.credit_code = k.credit_code
left join repeat_offenders as ro on ro.credit_code = k.credit_code
left join latest_class as lc on lc.credit_code = k.credit_code
