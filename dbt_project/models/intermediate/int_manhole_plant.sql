{#-
  检查井 → 污水处理厂：从每座厂的进厂井沿定向后的污水/合流管逆流而上（macro reachable），得到每个检查井最终流入的厂。
  雨水管不计：雨水管流向排放口，接入合流管的雨水管在 int_manhole_outlets 中能看到其出口。
  Manhole → plant: walk upstream over the oriented sewage and combined pipes from each plant's inlet
  manhole (macro reachable). Storm pipes do not carry anyone's sewage to a plant; where they end is in
  int_manhole_outlets. A manhole draining to two plants (a bifurcation) appears twice.
-#}
with edges as (
    select to_manhole_id as from_id, from_manhole_id as to_id
    from {{ ref('int_network_edges') }}
    where pipe_category in ('sewage', 'combined')
),

plants as (
    select plant_id as origin_id, inlet_manhole_id as node_id
    from {{ ref('stg_plants__registry') }}
    where inlet_manhole_id is not null
),

upstream as (
    select origin_id as plant_id, node_id as manhole_id
    from {{ reachable('select origin_id, node_id from plants', 'select from_id, to_id from edges') }} as r
)

select
    manhole_id,
    plant_id,
    count(*) over (partition by manhole_id) > 1 as drains_to_several_plants
from upstream
