{#-
  雨污混接点所在区县：清单报送了区县（DOMAIN.md 的混接清单没有这一列，少数区县会加）就用报送值；否则取所在管段的区县，
  再否则取所在检查井的区县。district_source 记录来源：reported / segment / manhole；都没有时为空（引用了普查中没有的管段
  或检查井，见 network_anomalies）。
  District of a misconnection point: as reported when the list has one, else its segment's, else its manhole's
  (census, current version); district_source says which.
-#}
with points as (
    select * from {{ ref('stg_misconnections__points') }}
),

pipes as (
    select segment_id, district_code from {{ ref('stg_census__pipes') }}
),

manholes as (
    select manhole_id, district_code from {{ ref('stg_census__manholes') }}
)

select
    p.misconnection_id,
    p.segment_id,
    p.manhole_id,
    p.misconnection_type,
    p.severity,
    p.found_on,
    p.rectification_status,
    p.rectified_on,
    coalesce(p.district_code, s.district_code, m.district_code)   as district_code,
    case when p.district_code is not null then 'reported'
         when s.district_code is not null then 'segment'
         when m.district_code is not null then 'manhole' end      as district_source,
    p._source_file,
    p._source_row
from points as p
left join pipes as s on s.segment_id = p.segment_id
left join manholes as m on m.manhole_id = p.manhole_id
