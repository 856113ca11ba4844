{#- 与引擎相关的写法集中在此（DuckDB）。换引擎时只需改写这些宏。
    Engine-specific SQL lives here (DuckDB); another engine re-implements these macros only. -#}

{#- One row per element of a list column: select <keys>, <element> from <relation>. -#}
{% macro explode_list(relation, key_columns, list_column, element_name) -%}
    select {{ key_columns | join(', ') }}, trim(element) as {{ element_name }}
    from {{ relation }}, unnest({{ list_column }}) as u(element)
    where element is not null and trim(element) <> ''
{%- endmacro %}

{#- Sorted, distinct, '|'-joined text of a column within a group (portable text, not a list type). -#}
{% macro joined_distinct(column) -%}
    array_to_string(list_sort(list_distinct(list({{ column }}))), '|')
{%- endmacro %}

{#- Month-end dates from start_date through end_date (both SQL date expressions). -#}
{% macro month_ends(start_date, end_date) -%}
    select cast(last_day(d) as date) as as_of
    from generate_series(date_trunc('month', {{ start_date }}), {{ end_date }}, interval 1 month) as g(d)
{%- endmacro %}

{#- Every date from start_date through end_date (SQL date expressions or columns of the calling query's
    lateral scope): select <day> ... Used as a lateral series, one row per day. -#}
{% macro day_series(start_date, end_date, day_name='day') -%}
    select cast(d as date) as {{ day_name }}
    from generate_series(cast({{ start_date }} as timestamp), cast({{ end_date }} as timestamp), interval 1 day) as g(d)
{%- endmacro %}

{#- A point in the warehouse CRS (EPSG:4549, metres) from CGCS2000 longitude/latitude (EPSG:4490); needs the
    spatial extension (the model's pre_hook loads it). -#}
{% macro point_4549_from_lonlat(longitude, latitude) -%}
    ST_Transform(ST_Point({{ longitude }}, {{ latitude }}), 'EPSG:4490', 'EPSG:4549', always_xy := true)
{%- endmacro %}
