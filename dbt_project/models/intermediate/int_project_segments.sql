-- 改造项目涉及的管段（项目 × 管段一行）；in_census 标出普查中不存在的管段编号。
-- One row per project and listed segment; in_census is false for IDs the census does not know.
with listed as (
    {{ explode_list(ref('stg_projects__upgrades'), ['project_id'], 'segment_ids', 'segment_id') }}
)

select distinct
    l.project_id,
    l.segment_id,
    p.segment_id is not null as in_census
from listed as l
left join {{ ref('stg_census__pipes') }} as p on p.segment_id = l.segment_id
