-- 管网改造项目台账（当前版本）。Upgrade projects, current version; segment_ids stays a list.
select
    cast(project_id as varchar)          as project_id,
    cast(project_name as varchar)        as project_name,
    cast(district_code as varchar)       as district_code,
    cast(project_type as varchar)        as project_type,
    segment_ids,
    cast(planned_start_on as date)       as planned_start_on,
    cast(actual_start_on as date)        as actual_start_on,
    cast(planned_completion_on as date)  as planned_completion_on,
    cast(actual_completion_on as date)   as actual_completion_on,
    cast(investment_yuan as double)      as investment_yuan,
    cast(funding_source as varchar)      as funding_source,
    cast(status as varchar)              as status,
    _source_file,
    _source_row
from {{ source('raw', 'upgrade_projects_current') }}
