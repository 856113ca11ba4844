{#- 每一行都满足表达式。Every row satisfies the SQL expression. -#}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
