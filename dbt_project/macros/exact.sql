{#-
  精确小数：均值与加权和先转为定点小数再求和，结果与行的顺序无关（issue 14：同一输入两次运行，
  浮点求和顺序不同使第 11 位不同，四舍五入到 4 位时偶尔翻转，如 6.87375 → 6.8737 / 6.8738）。
  Exact numbers for sums and means: a DECIMAL sum is exact, so the result does not depend on the order the
  threads add rows in (a DOUBLE sum does, in its last bits, and rounding to 4 places then flips at a tie).
  Six decimals hold every measured value of the feeds (38 digits: a product of two stays exact); values outside ±1e12, infinities and NaN become NULL
  (they are no measurement). Portable SQL: CAST to DECIMAL and BETWEEN.
-#}
{% macro exact(expr) -%}
    cast(case when {{ expr }} between -1e12 and 1e12 then {{ expr }} end as decimal(38, 6))
{%- endmacro %}

{#-
  精确求和：按定点小数求和后再转回 DOUBLE，列类型不变，结果与线程相加的顺序无关。
  An order-free sum that keeps the column a DOUBLE: the exact DECIMAL sum, then its nearest double (the same
  every run). A DOUBLE sum of lengths, money or volumes differs in its last bits between runs, and a mart that
  rounds it to 2 places flipped 1141.925 to 1141.92 / 1141.93 between a clean run and a rerun (issue 14).
-#}
{% macro exact_sum(expr) -%}
    cast(sum({{ exact(expr) }}) as double)
{%- endmacro %}
