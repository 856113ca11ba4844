{#-
  排水户/排污单位画像：每个统一社会信用代码一行（无信用代码的个人执法对象不在此表）。
  downstream_plant_id：从有效（否则最近到期的）排水许可的接驳井沿管网追踪到的污水处理厂；
  declared_plant_id：排污许可申报的受纳污水处理厂；两者都有且追踪结果中不含申报厂时 plant_disagrees。
  标志：无有效许可（报告日既无有效排水许可也无有效排污许可）、屡犯（var repeat_offender_window_days 天内
  至少两起案件；“不予处罚”也计入，因为《行政处罚法》第三十三条的不予处罚通常是违法行为轻微并及时改正，
  违法事实仍成立）、许可将在 var permit_expiry_warning_days 天内到期。
  One row per credit code: permits with validity, connection manhole, traced vs declared plant,
  enforcement history and flags, on the reporting date.
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
        coalesce(c.case_status, 'open') <> 'dismissed' as is_violation
    from {{ ref('int_enforcement_located') }} as c
    where c.credit_code is not null
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

drainage_summary as (
    select
        d.credit_code,
        count(*)                                                         as drainage_permits,
        {{ joined_distinct('d.permit_no') }}                             as drainage_permit_nos,
        max(case when d.is_valid then 1 else 0 end) = 1                  as has_valid_drainage_permit,
        max(d.valid_until)                                               as drainage_valid_until,
        sum(case when d.is_valid then d.permitted_volume_m3d else 0 end) as valid_permitted_volume_m3d,
        max(case when d.holder_type = 'individual' then 1 else 0 end) = 1 as holder_is_individual,
        {{ joined_distinct('d.connection_manhole_id') }}                 as connection_manhole_ids,
        {{ joined_distinct('pm.plant_id') }}                             as downstream_plant_ids,
        max(case when d.is_valid and d.valid_until <= {{ dbt.dateadd('day', var('permit_expiry_warning_days'), reporting_date()) }}
                 then 1 else 0 end) = 1                                  as drainage_expiring
    from drainage as d
    left join plant_of_manhole as pm on pm.manhole_id = d.connection_manhole_id
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

case_gaps as (
    select
        credit_code,
        inspected_on,
        {{ dbt.datediff('lag(inspected_on) over (partition by credit_code order by inspected_on)', 'inspected_on', 'day') }}
                                                                         as days_since_previous
    from cases
),

case_summary as (
    select
        c.credit_code,
        count(*)                                                         as enforcement_cases,
        count(case when c.is_violation then 1 end)                       as violation_cases,
        coalesce(sum(c.penalty_yuan), 0)                                 as penalties_yuan,
        max(c.inspected_on)                                              as last_violation_on,
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
    coalesce(ds.valid_permitted_volume_m3d, 0)                              as valid_permitted_volume_m3d,
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
    not (coalesce(ds.has_valid_drainage_permit, false) or coalesce(dis.has_valid_discharge_permit, false))
                                                                            as has_no_valid_permit,
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
