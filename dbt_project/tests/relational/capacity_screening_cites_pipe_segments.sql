{#- 能力筛查的管段须存在于 pipe_segments（共享数据集之间的引用；ERROR：数据集是我们建的，不一致即不发布）。
    capacity_screening.segment_id exists in pipe_segments.segment_id (a reference between what we build; ERROR blocks publication). -#}
{{ config(severity='error', meta={'dagster': {'ref': {'name': 'capacity_screening'}}, 'description': '能力筛查的管段须存在于 pipe_segments。Screened segments exist in pipe_segments.'}) }}
select distinct m.segment_id
from {{ ref('capacity_screening') }} as m
where m.segment_id is not null
  and m.segment_id not in (select segment_id from {{ ref('pipe_segments') }} where segment_id is not null)
