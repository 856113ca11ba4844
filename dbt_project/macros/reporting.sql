{#- 报告日期：var reporting_date（YYYY-MM-DD），未设置时为构建当天。
    The reporting date of the KPI marts: var('reporting_date') or the day of the build. -#}
{% macro reporting_date() -%}
    {%- set value = var('reporting_date', none) -%}
    {%- if value is none or value == '' -%}current_date{%- else -%}cast('{{ value }}' as date){%- endif -%}
{%- endmacro %}

{#- 行动方案起点。Start of the plan's trajectory (var plan_start_date). -#}
{% macro plan_start_date() -%}
    cast('{{ var("plan_start_date") }}' as date)
{%- endmacro %}

{#- 数值落在 seeds 定义的区间内（界限为空表示无界，*_inclusive 决定开闭）。
    value lies in the interval of a threshold row `t` (NULL bound = unbounded). -#}
{% macro in_interval(value, lower, lower_inclusive, upper, upper_inclusive) -%}
    (({{ lower }} is null or {{ value }} > {{ lower }} or ({{ lower_inclusive }} and {{ value }} = {{ lower }}))
     and ({{ upper }} is null or {{ value }} < {{ upper }} or ({{ upper_inclusive }} and {{ value }} = {{ upper }})))
{%- endmacro %}

{#- 百分比（保留4位小数，分母为0时为空）：先乘100再除，避免 0.6*100 之类的浮点误差。
    A percentage rounded to 4 decimals; NULL when the denominator is 0. -#}
{% macro pct(numerator, denominator) -%}
    round(case when {{ denominator }} > 0 then 100.0 * {{ numerator }} / {{ denominator }} end, 4)
{%- endmacro %}
