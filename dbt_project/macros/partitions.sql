{#- 按日分区的增量模型（docs/operations.md）。一次运行只重建 partition_start … partition_end 这几天（含两端，
    ISO 日期；空表示该端不设界）；两者都没有时重建全部日期。Dagster 通过环境变量 SEWERSHARE_PARTITION_START /
    SEWERSHARE_PARTITION_END 传入（在执行时读取，不影响 dbt 的增量解析）；手工运行可用 --vars。
    Daily-partitioned incremental models: a run rebuilds the days partition_start … partition_end (inclusive ISO
    dates; empty = open bound), every day when neither is set. Dagster passes them as the environment variables
    SEWERSHARE_PARTITION_START / _END (read when the model runs, so dbt's partial parsing stays valid; vars would
    force a full re-parse each run); by hand: --vars '{partition_start: ..., partition_end: ...}'.
    Portable SQL (a delete and an insert), so the same models run on DuckLake, Spark or Trino tables. -#}

{% macro partition_bound(name) -%}
    {{- var('partition_' ~ name, none) or env_var('SEWERSHARE_PARTITION_' ~ (name | upper), '') -}}
{%- endmacro %}

{#- A condition on a date column: the run's days. -#}
{% macro partition_filter(column) -%}
    {%- set start = partition_bound('start') -%}
    {%- set end = partition_bound('end') -%}
    ({% if start %}{{ column }} >= cast('{{ start }}' as date){% else %}1 = 1{% endif %}
     and {% if end %}{{ column }} <= cast('{{ end }}' as date){% else %}1 = 1{% endif %})
{%- endmacro %}

{#- pre_hook of a daily incremental model: the run's days are deleted, then the model's select (filtered to
    the same days) is appended. On the first build, or with --full-refresh, the table is built whole. -#}
{% macro delete_partition_days(column) -%}
    {%- if is_incremental() -%}
    delete from {{ this }} where {{ partition_filter(column) }}
    {%- endif -%}
{%- endmacro %}
