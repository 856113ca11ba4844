{#- 报送频率规则：var feed_delivery_rules（由 Dagster 的 dbt 资产按契约 cadence 传入，唯一来源为
    pipelines.contracts.CADENCE_OVERDUE_AFTER_DAYS）展开为一张小表：feed, title_zh, owner, cadence, overdue_after_days。
    单独运行 dbt 而未传入该 var 时为空表（不产生报送逾期预警）。
    The contracts' delivery rules passed by the dbt asset, as a relation (empty when the var is not given). -#}
{% macro feed_delivery_rules() -%}
    {%- set rules = var('feed_delivery_rules', []) -%}
    {%- if rules | length == 0 -%}
    select cast(null as varchar) as feed, cast(null as varchar) as title_zh, cast(null as varchar) as owner,
           cast(null as varchar) as cadence, cast(null as integer) as overdue_after_days
    where 1 = 0
    {%- else -%}
    {%- for rule in rules %}
    select '{{ rule["feed"] | replace("'", "''") }}' as feed, '{{ rule["title_zh"] | replace("'", "''") }}' as title_zh,
           '{{ rule["owner"] | replace("'", "''") }}' as owner, '{{ rule["cadence"] }}' as cadence,
           cast({{ rule["overdue_after_days"] | int }} as integer) as overdue_after_days
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
    {%- endif %}
{%- endmacro %}
