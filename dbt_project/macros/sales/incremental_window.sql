{#-
    Half-open window [start, end) of `source_updated_at` an incremental sales fact re-processes.
    The nightly job passes `--vars '{window_start: 2026-05-01, window_end: 2026-05-02}'`; without
    them the window starts `incremental_lookback_days` (default 3) before the newest change already
    loaded and never ends, so a plain `dbt build` picks up everything new. Records not yet in the
    table are always taken, whatever their timestamp (late exports), so a narrow window never
    loses rows; re-running any window rewrites the same rows with the same values.
-#}
{% macro sales_window_predicate(column, existing_relation) -%}
    {%- set start = var('window_start', none) -%}
    {%- set end = var('window_end', none) -%}
    {%- if start is not none -%}
        {{ column }} >= cast('{{ start }}' as timestamp)
    {%- else -%}
        {{ column }} >= (
            select
                coalesce(
                    {{ dbt.dateadd('day', -1 * var('incremental_lookback_days', 3) | int,
                                   'max(source_updated_at)') }},
                    cast('1900-01-01' as timestamp)
                )
            from {{ existing_relation }}
        )
    {%- endif %}
    {%- if end is not none %}
        and {{ column }} < cast('{{ end }}' as timestamp)
    {%- endif -%}
{%- endmacro %}
