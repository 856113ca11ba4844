{#- 进水月表的厂站须存在于污水处理厂名录（共享数据集之间的引用；ERROR：数据集是我们建的，不一致即不发布）。
    plant_influent_monthly.plant_id exists in stg_plants__registry.plant_id (a reference between what we build; ERROR blocks publication). -#}
{{ config(severity='error', meta={'dagster': {'ref': {'name': 'plant_influent_monthly'}}, 'description': '进水月表的厂站须存在于污水处理厂名录。Plants exist in the registry.'}) }}
select distinct m.plant_id
from {{ ref('plant_influent_monthly') }} as m
where m.plant_id is not null
  and m.plant_id not in (select plant_id from {{ ref('stg_plants__registry') }} where plant_id is not null)
