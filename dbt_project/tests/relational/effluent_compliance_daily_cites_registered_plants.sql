{#- 出水达标日表的厂站须存在于污水处理厂名录（共享数据集之间的引用；ERROR：数据集是我们建的，不一致即不发布）。
    effluent_compliance_daily.plant_id exists in stg_plants__registry.plant_id (a reference between what we build; ERROR blocks publication). -#}
{{ config(severity='error', meta={'dagster': {'ref': {'name': 'effluent_compliance_daily'}}, 'description': '出水达标日表的厂站须存在于污水处理厂名录。Plants exist in the registry.'}) }}
select distinct m.plant_id
from {{ ref('effluent_compliance_daily') }} as m
where m.plant_id is not null
  and m.plant_id not in (select plant_id from {{ ref('stg_plants__registry') }} where plant_id is not null)
