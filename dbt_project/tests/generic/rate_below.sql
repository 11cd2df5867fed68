{#-
    A rate column of the latest row (by `date_column`) must stay below the thresholds
    vars.<thresholds_var>.<threshold> = {warn: x, error: y} set in dbt_project.yml.

    Two severities from one test: it returns one row per threshold crossed, and is configured
    warn_if >= 1 and error_if >= 2. Above `warn` only: dbt reports WARN (visible, publishes);
    above `error` as well: FAIL, which skips the children of the model and makes the publishing
    gate (orchestration/checks/gate.py) refuse to publish.
-#}
{% test rate_below(model, column_name, threshold, date_column='build_date', thresholds_var='hygiene_thresholds') %}
    {{ config(severity='error', warn_if='>=1', error_if='>=2') }}
    {%- set thresholds = var(thresholds_var, {}) -%}
    {%- if threshold not in thresholds -%}
        {{ exceptions.raise_compiler_error(
            "rate_below: no " ~ thresholds_var ~ "." ~ threshold ~ " in dbt_project.yml vars") }}
    {%- endif -%}
    {%- set limits = thresholds[threshold] -%}
{%- if limits.warn is not defined or limits.error is not defined or limits.warn > limits.error -%}
        {{ exceptions.raise_compiler_error(
            "rate_below: " ~ thresholds_var ~ "." ~ threshold ~ " needs {warn: x, error: y} with x <= y") }}
    {%- endif %}

with

latest as (
    select {{ column_name }} as rate
    from {{ model }}
    where {{ date_column }} = (select max({{ date_column }}) from {{ model }})
),

limits as (
    select 'warn' as severity_level, {{ limits.warn }} as threshold_value
    union all
    select 'error' as severity_level, {{ limits.error }} as threshold_value
)

select
    limits.severity_level,
    limits.threshold_value,
    latest.rate
from latest
cross join limits
where latest.rate > limits.threshold_value

{% endtest %}
