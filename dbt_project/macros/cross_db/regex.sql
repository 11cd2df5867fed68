{#-
    Regular expressions, portable between DuckDB (RE2) and Spark (java.util.regex).

    Patterns are passed as plain Jinja strings, not SQL literals: the macros quote them for the
    engine. That matters because the engines read backslashes in string literals differently:
    DuckDB keeps them as they are (standard SQL), Spark SQL treats `\` as an escape character, so
    `\s` must reach Spark as '\\s'. Write patterns once, in the syntax both RE2 and Java accept
    (`\s`, `\p{L}`, `[0-9]`, `\x{00A0}`; no back-references, no look-arounds: RE2 has neither).
    Jinja string literals decode backslash escapes like Python, so inside `{{ }}`/`{% %}` write
    every backslash twice: '[\\s\\x{00A0}]'.
-#}

{% macro regex_literal(pattern) %}
    {{- return(adapter.dispatch('regex_literal', 'clientbase')(pattern)) -}}
{% endmacro %}

{% macro default__regex_literal(pattern) -%}
    '{{ pattern | replace("'", "''") }}'
{%- endmacro %}

{% macro spark__regex_literal(pattern) -%}
    '{{ pattern | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}


{#- Any text constant (not only a pattern) as a string literal of the engine: the same quoting. -#}
{% macro text_literal(value) %}
    {{- return(clientbase.regex_literal(value)) -}}
{% endmacro %}


{#- Replace every match of `pattern` in `expr` with `replacement`; `\1`…`\9` in the replacement
    refer to capture groups (write them as '\\1' inside a Jinja string). -#}
{% macro regexp_replace_all(expr, pattern, replacement='') %}
    {{- return(adapter.dispatch('regexp_replace_all', 'clientbase')(expr, pattern, replacement)) -}}
{% endmacro %}

{% macro duckdb__regexp_replace_all(expr, pattern, replacement='') -%}
    regexp_replace({{ expr }}, {{ clientbase.regex_literal(pattern) }}, '{{ replacement | replace("'", "''") }}', 'g')
{%- endmacro %}

{% macro spark__regexp_replace_all(expr, pattern, replacement='') -%}
    {#- Spark's regexp_replace always replaces every match. Java writes group references as $1
        where RE2 writes \1, and a literal $ must be escaped. -#}
    {%- set ns = namespace(java=replacement | replace('$', '\\$')) -%}
    {%- for group in range(1, 10) -%}
        {%- set ns.java = ns.java | replace('\\' ~ group, '$' ~ group) -%}
    {%- endfor -%}
    regexp_replace({{ expr }}, {{ clientbase.regex_literal(pattern) }}, '{{ ns.java | replace('\\', '\\\\') | replace("'", "\\'") }}')
{%- endmacro %}


{#- True when `pattern` matches somewhere in `expr` (anchor with ^...$ for a full match), null when expr is null. -#}
{% macro regexp_like(expr, pattern) %}
    {{- return(adapter.dispatch('regexp_like', 'clientbase')(expr, pattern)) -}}
{% endmacro %}

{% macro duckdb__regexp_like(expr, pattern) -%}
    regexp_matches({{ expr }}, {{ clientbase.regex_literal(pattern) }})
{%- endmacro %}

{% macro spark__regexp_like(expr, pattern) -%}
    ({{ expr }} rlike {{ clientbase.regex_literal(pattern) }})
{%- endmacro %}


{#- The text captured by group `group` of the first match, '' when there is no match (both engines). -#}
{% macro regexp_extract_group(expr, pattern, group=1) %}
    {{- return(adapter.dispatch('regexp_extract_group', 'clientbase')(expr, pattern, group)) -}}
{% endmacro %}

{% macro default__regexp_extract_group(expr, pattern, group=1) -%}
    regexp_extract({{ expr }}, {{ clientbase.regex_literal(pattern) }}, {{ group }})
{%- endmacro %}
