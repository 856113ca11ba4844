{#-
  任务清单中数据能衡量的条目：每个条目 × 区县（含全市 331000）× 目标一行，给出报告日的数值、是否达到、首次达到日期。
  读取的专题库：district_progress（排查率、整改率，按 as_of ≤ 报告日取最近一期）、city_bod5_kpi（进水BOD5规模占比）、
  project_portfolio（提升改造项目开工）、stg_census__pipes（普查数据入库）。issue 9 修订这些专题库时只需改这里。
  - 排查/整改：district_progress 的月末序列中首次达到目标的日期为达到日期；无问题管段的整改率按 100% 计（无需整改）。
  - 普查数据库（2.2，“基本建成”）：区县当前普查管段按填报日期累计长度首次达到 90% 的日期；全市 = 各区县均已建成。
  - 项目开工（3.1，“启动实施提升改造项目”）：区县首个实际开工项目的开工日期；全市 = 各区县均已开工。
  - 问题数据库（T08）与 100% 排查同时形成（问题数据库须覆盖全部管网），不单列。
  Measured ledger items: per item, district (and city) and target, the value on the reporting date, whether it is
  met and when it was first reached.
-#}
with items as (
    select i.item_code, i.level, i.measure, t.item_target as target_id
    from {{ ref('plan_task_items') }} as i
    left join (
        {{ explode_list("(select item_code, string_split(target_ids, '|') as ids from " ~ ref('plan_task_items') ~ " where target_ids is not null)",
                        ['item_code'], 'ids', 'item_target') }}
    ) as t on t.item_code = i.item_code
    where i.measure is not null
),

targets as (
    select target_id, metric, scope, deadline, threshold_pct
    from {{ ref('plan_targets') }}
),

progress as (
    select
        district_code, scope, as_of, inspected_pct,
        -- nothing found to rectify: the rectification target is met
        case when problem_length_m = 0 then 100 else rectified_pct end as rectified_pct
    from {{ ref('district_progress') }}
    where as_of <= {{ reporting_date() }}
),

latest_progress as (
    select p.*
    from progress as p
    inner join (select district_code, scope, max(as_of) as as_of from progress group by district_code, scope) as l
        on l.district_code = p.district_code and l.scope = p.scope and l.as_of = p.as_of
),

pct_targets as (
    -- inspection and rectification targets, per district (and the city row 331000) having that scope
    select
        i.item_code,
        lp.district_code,
        t.target_id,
        t.metric,
        t.scope,
        t.deadline,
        t.threshold_pct,
        case t.metric when 'inspected_pct' then lp.inspected_pct else lp.rectified_pct end as value_pct
    from items as i
    inner join targets as t on t.target_id = i.target_id and t.metric in ('inspected_pct', 'rectified_pct')
    inner join latest_progress as lp on lp.scope = t.scope
    where (i.level = 'district_and_city') or lp.district_code <> '331000'
),

pct_reached as (
    select pt.item_code, pt.district_code, pt.target_id, min(p.as_of) as reached_on
    from pct_targets as pt
    inner join progress as p on p.district_code = pt.district_code and p.scope = pt.scope
    where (pt.metric = 'inspected_pct' and p.inspected_pct >= pt.threshold_pct)
       or (pt.metric = 'rectified_pct' and p.rectified_pct >= pt.threshold_pct)
    group by pt.item_code, pt.district_code, pt.target_id
),

bod5 as (
    select k.year, k.capacity_share_pct, k.met
    from {{ ref('city_bod5_kpi') }} as k
    where k.year <= extract(year from {{ reporting_date() }})
),

bod5_target as (
    select
        i.item_code,
        '331000'                                                      as district_code,
        t.target_id,
        t.metric,
        t.scope,
        t.deadline,
        t.threshold_pct,
        (select b.capacity_share_pct from bod5 as b order by b.year desc limit 1) as value_pct,
        (select min(case when cast(b.year as integer) = extract(year from {{ reporting_date() }})
                         then {{ reporting_date() }}
                         else cast(cast(b.year as varchar) || '-12-31' as date) end)
         from bod5 as b where b.met)                                 as reached_on
    from items as i
    inner join targets as t on t.target_id = i.target_id and t.metric = 'bod5_capacity_share_pct'
),

census as (
    select district_code, reported_on, length_m,
           cast(sum({{ exact('length_m') }}) over (partition by district_code order by reported_on
                               rows between unbounded preceding and current row) as double) as cumulative_m,
           cast(sum({{ exact('length_m') }}) over (partition by district_code) as double) as total_m
    from {{ ref('stg_census__pipes') }}
    where reported_on <= {{ reporting_date() }}
),

census_districts as (
    select district_code, min(case when cumulative_m >= 0.9 * total_m then reported_on end) as reached_on
    from census
    group by district_code
),

project_districts as (
    select district_code, min(actual_start_on) as reached_on
    from {{ ref('project_portfolio') }}
    where actual_start_on <= {{ reporting_date() }}
    group by district_code
),

district_list as (
    select district_code from {{ ref('districts') }} where district_code <> '331000'
),

count_targets as (
    -- 2.2 and 3.1: done per district; the city when every district is
    select
        i.item_code,
        d.district_code,
        coalesce(i.target_id, i.item_code)                                         as target_id,
        i.measure                                                                  as metric,
        'all'                                                                      as scope,
        pi.deadline,
        cast(null as double)                                                       as threshold_pct,
        case when x.reached_on is not null then 100.0 else 0.0 end                 as value_pct,
        x.reached_on
    from items as i
    inner join {{ ref('plan_task_items') }} as pi on pi.item_code = i.item_code
    cross join district_list as d
    left join (
        select 'census_database' as measure, district_code, reached_on from census_districts
        union all
        select 'projects_started', district_code, reached_on from project_districts
    ) as x on x.measure = i.measure and x.district_code = d.district_code
    where i.measure in ('census_database', 'projects_started')
),

count_city as (
    select
        item_code, '331000' as district_code, target_id, metric, scope, deadline, threshold_pct,
        {{ pct('count(reached_on)', 'count(*)') }}                                as value_pct,
        case when count(reached_on) = count(*) then max(reached_on) end            as reached_on
    from count_targets
    group by item_code, target_id, metric, scope, deadline, threshold_pct
),

all_targets as (
    select pt.item_code, pt.district_code, pt.target_id, pt.metric, pt.scope, pt.deadline, pt.threshold_pct,
           pt.value_pct, r.reached_on
    from pct_targets as pt
    left join pct_reached as r
        on r.item_code = pt.item_code and r.district_code = pt.district_code and r.target_id = pt.target_id
    union all
    select item_code, district_code, target_id, metric, scope, deadline, threshold_pct, value_pct, reached_on
    from bod5_target
    union all
    select item_code, district_code, target_id, metric, scope, deadline, threshold_pct, value_pct, reached_on
    from count_targets
    union all
    select item_code, district_code, target_id, metric, scope, deadline, threshold_pct, value_pct, reached_on
    from count_city
)

select
    item_code,
    district_code,
    target_id,
    metric,
    scope,
    deadline,
    threshold_pct,
    value_pct,
    case when threshold_pct is null then reached_on is not null
         else coalesce(value_pct, 0) >= threshold_pct end                          as met,
    reached_on,
    case metric
        when 'inspected_pct' then case scope when 'built_up' then '建成区' else '工业园区' end || '排查评估率'
        when 'rectified_pct' then case scope when 'built_up' then '建成区' else '工业园区' end || '问题管网改造率'
        when 'bod5_capacity_share_pct' then '进水BOD5高于100mg/L的城市污水处理厂规模占比'
        when 'census_database' then '普查数据入库（累计长度达90%）'
        when 'projects_started' then '提升改造项目开工'
    end
    || ' ' || coalesce(cast(round(value_pct, 2) as varchar) || '%', '无数据')
    || coalesce('（目标≥' || cast(cast(threshold_pct as integer) as varchar) || '%，', '（')
    || cast(deadline as varchar) || '前）'                                          as measure_zh
from all_targets
