{#-
  行动方案进度的计量单元：污水管与合流管，每个管段一行，带问题管网数据库的日期（发现、整改、复评、工程完工）。
  按长度计量（DOMAIN.md §2）；状态日期来自 int_segment_problem_status（唯一的状态计算处）。
  The unit of the plan's progress: sewage and combined segments with their register dates (identified,
  rectified by works, re-graded, works completed), from int_segment_problem_status. The inspected length
  over time is int_progress_inspected_length.
-#}
select
    p.segment_id,
    p.district_code,
    p.scope,
    coalesce(p.length_m, 0)           as length_m,
    st.segment_id is not null         as in_register,
    st.identified_on                  as problem_identified_on,
    st.rectified_on,
    st.regraded_on,
    st.works_completed_on
from {{ ref('stg_census__pipes') }} as p
left join {{ ref('int_segment_problem_status') }} as st on st.segment_id = p.segment_id
where p.pipe_category in ('sewage', 'combined')
