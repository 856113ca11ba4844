{#-
  任务清单的行：任务条目 × 区县（市级条目为全市 331000）× 责任单位（牵头 / 协同 / 实施主体）。
  - 牵头、协同部门取 plan_task_departments（任务表原文）。
  - 实施主体：源表“实施主体”列为按序号合并的单元格，故按 plan_task_items.level 判断：区县级条目的实施主体为该区县
    人民政府（台州湾新区为管委会），全市行无实施主体。
  Ledger rows: item × district (331000 for city-level items) × responsible unit with its role.
-#}
with items as (
    select * from {{ ref('plan_task_items') }}
),

departments as (
    select cast(task_no as varchar) || '.' || cast(item_no as varchar) as item_code, task_zh, item_zh,
           dept_code, role
    from {{ ref('plan_task_departments') }}
),

titles as (
    select distinct item_code, task_zh, item_zh from departments
),

places as (
    select i.item_code, d.district_code, d.name_zh as district_name
    from items as i
    cross join {{ ref('districts') }} as d
    where (i.level in ('district', 'district_and_city') and d.district_code <> '331000')
       or (i.level in ('city', 'district_and_city') and d.district_code = '331000')
),

units as (
    select p.item_code, p.district_code, p.district_name, dp.dept_code as unit_code, dp.role as unit_role,
           dn.name_zh as unit_name
    from places as p
    inner join departments as dp on dp.item_code = p.item_code and dp.role in ('lead', 'co')
    inner join {{ ref('departments') }} as dn on dn.dept_code = dp.dept_code
    union all
    select p.item_code, p.district_code, p.district_name,
           case when p.district_code = '331099' then 'bay_area_committee' else 'county_governments' end,
           'implementing',
           case when p.district_code = '331099' then '台州湾新区管委会' else p.district_name || '人民政府' end
    from places as p
    inner join items as i on i.item_code = p.item_code
    where p.district_code <> '331000'
),

leads as (
    select dp.item_code, {{ joined_distinct('dn.name_zh') }} as lead_units
    from departments as dp
    inner join {{ ref('departments') }} as dn on dn.dept_code = dp.dept_code
    where dp.role = 'lead'
    group by dp.item_code
)

select
    u.item_code,
    i.task_no,
    i.item_no,
    t.task_zh,
    t.item_zh,
    i.level,
    i.deadline,
    i.measure,
    i.milestone_zh,
    u.district_code,
    u.district_name,
    u.unit_code,
    u.unit_name,
    u.unit_role,
    case u.unit_role when 'lead' then '牵头' when 'co' then '协同' else '实施主体' end as unit_role_zh,
    replace(l.lead_units, '|', '、')                                                 as lead_units
from units as u
inner join items as i on i.item_code = u.item_code
inner join titles as t on t.item_code = u.item_code
inner join leads as l on l.item_code = u.item_code
