{#-
  执法案件所在区县：报送了区县就用报送值；否则取被检查单位许可证（排水许可、排污许可，当前版本）的区县——仅当其许可证
  都在同一区县；再否则取统一社会信用代码第3–8位“登记管理机关行政区划码”（GB 32100-2015 第4章代码结构，按 GB/T 2260
  编码；331021 玉环县按 districts 种子映射为 331083，市级 331000/331001 登记的不能落到区县）。
  district_source：reported / permit / credit_code；都没有时为空。
  District of an enforcement case: as reported; else the district of the subject's permits (drainage, discharge)
  when they all lie in one; else the registration authority's area code, characters 3–8 of the unified social
  credit code (GB 32100-2015 clause 4, GB/T 2260 codes), through the districts seed (331021 → 331083; a code
  registered at city level names no district). A code that failed its checksum is kept by ingestion as sent
  (credit_code_unverified): its area digits still place the case, marked credit_code_unverified.
-#}
with cases as (
    select * from {{ ref('stg_enforcement__cases') }}
),

permits as (
    select credit_code, district_code from {{ ref('stg_permits__drainage') }}
    union all
    select credit_code, district_code from {{ ref('stg_permits__discharge') }}
),

permit_districts as (
    select credit_code, min(district_code) as district_code
    from permits
    where credit_code is not null and district_code is not null
    group by credit_code
    having count(distinct district_code) = 1
),

-- the six-digit codes a district is known by: its code, and the older codes among its aliases (331021)
area_codes as (
    select district_code, district_code as area_code
    from {{ ref('districts') }}
    where coalesce(note, '') <> 'city'
    union
    select d.district_code, a.area_code
    from {{ ref('districts') }} as d
    inner join (select distinct substring(coalesce(credit_code, credit_code_unverified), 3, 6) as area_code
                from cases) as a
        on '|' || d.aliases || '|' like '%|' || a.area_code || '|%'
    where coalesce(d.note, '') <> 'city'
)

select
    c.case_id,
    c.source_bureau,
    c.inspected_on,
    c.inspection_method,
    c.subject_name,
    c.credit_code,
    coalesce(c.district_code, p.district_code, a.district_code)   as district_code,
    case when c.district_code is not null then 'reported'
         when p.district_code is not null then 'permit'
         when a.district_code is not null and c.credit_code is not null then 'credit_code'
         when a.district_code is not null then 'credit_code_unverified' end as district_source,
    c.violation_type,
    c.decision_no,
    c.penalty_yuan,
    c.case_status,
    c.rectify_by,
    c.rectified_on,
    c.officer_names,
    c.contact_phone,
    c._source_file,
    c._source_row
from cases as c
left join permit_districts as p on p.credit_code = c.credit_code
left join area_codes as a
    on a.area_code = substring(coalesce(c.credit_code, upper(trim(c.credit_code_unverified))), 3, 6)
