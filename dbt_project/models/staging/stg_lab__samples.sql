-- 污水处理厂化验数据（当前版本）。Plant lab samples, current version.
select
    cast(plant_id as varchar)            as plant_id,
    cast(sampled_on as date)             as sampled_on,
    cast(sampling_point as varchar)      as sampling_point,
    cast(bod5_mg_l as double)            as bod5_mg_l,
    cast(cod_mg_l as double)             as cod_mg_l,
    cast(ss_mg_l as double)              as ss_mg_l,
    cast(nh3n_mg_l as double)            as nh3n_mg_l,
    cast(tn_mg_l as double)              as tn_mg_l,
    cast(tp_mg_l as double)              as tp_mg_l,
    _source_file,
    _source_row
from {{ source('raw', 'plant_lab_current') }}
