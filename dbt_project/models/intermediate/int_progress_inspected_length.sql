{#-
  已排查长度随时间的增量：只计行动期间（var campaign_start_date 起）的结构性检测（CCTV 或潜望镜 QV；声纳只看断面，
  不是隐患排查的结构性检测），且只计实际检测长度（检测长度，不超过普查长度）。同一管段多次检测取至当时为止最长的检测长度，
  每次检测行记录比此前多出的长度，累加即得任一日期的已排查长度。
  Inspected length over time, for the plan's coverage: structural inspections only (CCTV or QV; sonar is a
  functional look), dated in the campaign (from var campaign_start_date), counting the length actually
  inspected (检测长度, at most the census length). For a segment inspected several times the covered length
  is the longest inspection so far; each inspection row carries what it adds, so summing the rows up to a
  date gives the inspected length on that date.
-#}
with inspections as (
    select
        s.segment_id,
        s.inspected_on,
        s.batch_id,
        least(coalesce(s.inspected_length_m, 0), coalesce(p.length_m, s.inspected_length_m, 0)) as covered_m
    from {{ ref('int_segment_inspections_scored') }} as s
    inner join {{ ref('stg_census__pipes') }} as p on p.segment_id = s.segment_id
    where s.assesses_structure
      and p.pipe_category in ('sewage', 'combined')
      and s.inspected_on >= cast('{{ var("campaign_start_date") }}' as date)
      and s.inspected_on <= {{ reporting_date() }}
),

running as (
    select
        *,
        max(covered_m) over (partition by segment_id order by inspected_on, batch_id
                             rows between unbounded preceding and current row)   as covered_so_far_m
    from inspections
)

select
    segment_id,
    inspected_on,
    batch_id,
    covered_m,
    round(covered_so_far_m - coalesce(lag(covered_so_far_m) over (partition by segment_id order by inspected_on, batch_id), 0), 3)
        as added_length_m
from running
