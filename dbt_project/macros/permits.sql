{#- 排水许可在 as_of 当日有效：状态为“有效”或空（空状态不推翻发证与有效期；注销/吊销/过期才否定），
    且 as_of 落在发证日期与有效期之间（含两端）。全项目唯一的判定，int_valid_drainage_permits 与
    discharger_profile 都用它。
    A drainage permit is valid on as_of when its status is valid or blank (only revoked/expired overrule the
    dates) and issued_on <= as_of <= valid_until. The one definition used everywhere. -#}
{% macro drainage_permit_is_valid(status, issued_on, valid_until, as_of) -%}
    (coalesce({{ status }}, 'valid') = 'valid' and {{ issued_on }} <= {{ as_of }} and {{ valid_until }} >= {{ as_of }})
{%- endmacro %}
