{#-
    One hygiene knob from the `hygiene` var in dbt_project.yml (the single place they are set).
    A missing knob is a compile error rather than a silent default, so a typo cannot quietly
    change a rule.
-#}
{% macro hygiene_setting(name) %}
    {%- set settings = var('hygiene', {}) -%}
    {%- if name not in settings -%}
        {{ exceptions.raise_compiler_error(
            "var hygiene." ~ name ~ " is not set: add it under vars.hygiene in dbt_project.yml") }}
    {%- endif -%}
    {{ return(settings[name]) }}
{% endmacro %}


{#- The hygiene_thresholds entry of one rate, {warn: x, error: y}. -#}
{% macro hygiene_threshold(rate_name) %}
    {%- set thresholds = var('hygiene_thresholds', {}) -%}
    {%- if rate_name not in thresholds -%}
        {{ exceptions.raise_compiler_error(
            "var hygiene_thresholds." ~ rate_name ~ " is not set in dbt_project.yml") }}
    {%- endif -%}
    {{ return(thresholds[rate_name]) }}
{% endmacro %}


{#- A share n / d as a float, 0 when the denominator is 0 (no customer the rule applies to). -#}
{% macro hygiene_share(numerator, denominator) -%}
    cast(coalesce(1.0 * {{ numerator }} / nullif({{ denominator }}, 0), 0) as {{ dbt.type_float() }})
{%- endmacro %}
