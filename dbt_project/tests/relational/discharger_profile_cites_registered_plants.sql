{#- 排水户画像追溯到的下游污水处理厂须存在于名录（共享数据集之间的引用；ERROR：数据集是我们建的，不一致即不发布）。
    discharger_profile.downstream_plant_id exists in stg_plants__registry.plant_id (a reference between what we build; ERROR blocks publication). -#}
{{ config(severity='error', meta={'dagster': {'ref': {'name': 'discharger_profile'}}, 'description': '排水户画像追溯到的下游污水处理厂须存在于名录。Downstream plants exist in the registry.'}) }}
select distinct m.downstream_plant_id
from {{ ref('discharger_profile') }} as m
where m.downstream_plant_id is not null
  and m.downstream_plant_id not in (select plant_id from {{ ref('stg_plants__registry') }} where plant_id is not null)
