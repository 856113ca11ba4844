{#- 改造项目涉及的管段须在管段普查中（引用关系；WARN：缺口可能在普查一侧）。
    An upgrade project's segments exist in the census (a reference; WARN: the gap may be in the census). -#}
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'stg_projects__upgrades'}},
                                 'description': '改造项目涉及的管段编号须在管段普查中。Project segments exist in the census.'}) }}
select p.project_id, s.segment_id
from {{ ref('stg_projects__upgrades') }} as p
cross join unnest(p.segment_ids) as s(segment_id)
where s.segment_id not in (select segment_id from {{ ref('stg_census__pipes') }} where segment_id is not null)
