{#- Schemas are named exactly staging / intermediate / marts / reference (not <target>_<custom>),
    because other parts of the platform (quality checks, publication) address them by these names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
