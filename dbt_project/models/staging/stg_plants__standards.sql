-- 污水处理厂执行标准的各个版本（名录全部版本，含被取代者），每个厂每个版本一行。
-- Every version of each plant's standard in the registry's history (superseded versions included). The feed's
-- history table raw.plants is the same ingestion asset as raw.plants_current (docs/architecture.md): it is read
-- through that source's relation, so lineage and the Dagster asset stay one.
{%- set current = source('raw', 'plants_current') %}
{%- set versions = current.incorporate(path={'identifier': 'plants'}) %}
select
    cast(plant_id as varchar)                  as plant_id,
    cast(standard as varchar)                  as standard,
    cast(standard_effective_from as date)      as standard_effective_from,
    cast(commissioned_on as date)              as commissioned_on,
    cast(_valid_from as timestamp)             as loaded_at,
    coalesce(_is_current, false)               as is_current
from {{ versions }}
where plant_id is not null and standard is not null
