{#-
  每座厂执行标准的历史（生效区间）：名录的每个版本给出一个（标准, 生效日期）；生效日期取文件中的“执行标准生效日期”，
  缺失时首个版本取投运日期、之后的版本取其载入日期（从报送之日起可知）。同一厂按生效日期排序，
  effective_to 为下一段的生效日期（不含），现行一段为空。同一生效日期有多个版本时以后载入者为准。
  The history of each plant's discharge standard as validity intervals, from the versions of the registry:
  each version gives (standard, effective from) — the file's 执行标准生效日期, else the commissioning date for
  the first version and the load date for later ones (known from when it was reported). effective_to is the
  next interval's start (exclusive); NULL for the one in force. Later loads win on equal dates.
-#}
with versions as (
    select
        plant_id,
        standard,
        standard_effective_from,
        loaded_at,
        row_number() over (partition by plant_id order by loaded_at) as version_no,
        commissioned_on
    from {{ ref('stg_plants__standards') }}
),

dated as (
    select
        plant_id,
        standard,
        loaded_at,
        coalesce(
            standard_effective_from,
            case when version_no = 1 then coalesce(commissioned_on, cast('1900-01-01' as date))
                 else cast(loaded_at as date) end
        )                                                           as effective_from,
        case when standard_effective_from is not null then 'registry'
             when version_no = 1 then 'commissioned_on'
             else 'reported_on' end                                 as effective_from_basis
    from versions
),

one_per_date as (
    select *
    from (
        select *, row_number() over (partition by plant_id, effective_from order by loaded_at desc) as pick
        from dated
    ) as d
    where pick = 1
),

changes as (
    -- keep an interval only where the standard changes
    select *
    from (
        select *, lag(standard) over (partition by plant_id order by effective_from) as previous_standard
        from one_per_date
    ) as o
    where previous_standard is null or previous_standard <> standard
)

select
    plant_id,
    standard,
    effective_from,
    lead(effective_from) over (partition by plant_id order by effective_from) as effective_to,
    effective_from_basis
from changes
