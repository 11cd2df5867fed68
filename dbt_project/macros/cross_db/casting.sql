{#-
    Casts and parsers that return null instead of failing on a bad value. Raw columns are text
    and a single odd value must never abort a build: staging keeps the raw text next to the
    parsed value, so a null here is visible, not silent.
-#}

{#-
    dbt's own `dbt.safe_cast` falls back to a plain `cast` on DuckDB, which raises on the first
    bad value. The project's dispatch config (dbt_project.yml, `dispatch:`) searches clientbase
    before dbt, so these implementations win for every `dbt.safe_cast` call in the project.
-#}
{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro spark__safe_cast(field, type) -%}
    {#- try_cast exists since Spark 3.2 and returns null whatever spark.sql.ansi.enabled says. -#}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}


{#-
    ISO 8601 text (with `Z` or a `+hh:mm` offset, or none meaning UTC) → timestamp in UTC
    without time zone; null when it does not parse.
-#}
{% macro parse_utc_timestamp(expr) %}
    {{- return(adapter.dispatch('parse_utc_timestamp', 'clientbase')(expr)) -}}
{% endmacro %}

{% macro duckdb__parse_utc_timestamp(expr) -%}
    {#- A plain cast to timestamp would silently drop a `+03:00` offset; going through
        timestamptz honours it, and `at time zone 'UTC'` makes the result independent of the
        session time zone. -#}
    (try_cast({{ expr }} as timestamptz) at time zone 'UTC')
{%- endmacro %}

{% macro spark__parse_utc_timestamp(expr) -%}
    {#- Spark timestamps are instants shown in spark.sql.session.timeZone, which the profile pins
        to UTC. -#}
    try_cast({{ expr }} as timestamp)
{%- endmacro %}


{#-
    Text in a fixed layout → timestamp without time zone; null when it does not parse (including
    impossible dates such as 31.02). `format` uses strftime codes (%d %m %Y %H %M %S), translated
    for Spark's datetime patterns.
-#}
{% macro parse_timestamp(expr, format) %}
    {{- return(adapter.dispatch('parse_timestamp', 'clientbase')(expr, format)) -}}
{% endmacro %}

{% macro duckdb__parse_timestamp(expr, format) -%}
    try_strptime({{ expr }}, '{{ format }}')
{%- endmacro %}

{% macro spark__parse_timestamp(expr, format) -%}
    {%- set java_format = format
        | replace('%d', 'dd') | replace('%m', 'MM') | replace('%Y', 'yyyy')
        | replace('%H', 'HH') | replace('%M', 'mm') | replace('%S', 'ss') -%}
    {#- try_to_timestamp (Spark 3.3+) returns null for unparseable text and impossible dates
        (31.02, 25:00), checked by stg_pos__receipts_parses_till_times on Spark 3.5. Do not set
        spark.sql.legacy.timeParserPolicy to LEGACY: the lenient old parser reads 31.02 as 02.03. -#}
    try_to_timestamp({{ expr }}, '{{ java_format }}')
{%- endmacro %}


{#-
    A JSON array of strings, as text → the elements joined by `separator` (portable text instead
    of an engine-specific array type); null when the text is not a JSON array.
-#}
{% macro json_string_array_to_text(expr, separator='|') %}
    {{- return(adapter.dispatch('json_string_array_to_text', 'clientbase')(expr, separator)) -}}
{% endmacro %}

{% macro duckdb__json_string_array_to_text(expr, separator='|') -%}
    case
        when json_valid({{ expr }}) and json_type({{ expr }}) = 'ARRAY'
            then array_to_string(json_extract_string({{ expr }}, '$[*]'), '{{ separator }}')
    end
{%- endmacro %}

{% macro spark__json_string_array_to_text(expr, separator='|') -%}
    {#- from_json returns null for text that is not an array of strings (PERMISSIVE mode). -#}
    array_join(from_json({{ expr }}, 'array<string>'), '{{ separator }}')
{%- endmacro %}
