{#- `not materialized` on DuckDB, which otherwise may materialize a CTE read more than once
    (incremental_winners reads its relation three times, each read needing other columns and
    rows of it); nothing elsewhere (Spark has no such hint and plans the reads itself). -#}
{% macro inline_cte() -%}
    {{ return(adapter.dispatch('inline_cte', 'clientbase')()) }}
{%- endmacro %}

{% macro default__inline_cte() -%}{%- endmacro %}

{% macro duckdb__inline_cte() -%}not materialized{%- endmacro %}
