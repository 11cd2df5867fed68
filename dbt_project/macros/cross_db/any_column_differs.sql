{#- True when any of `columns` differs between relations `left` and `right` (nulls compare
    equal); false for no columns. One line, so it fits any clause. -#}
{% macro any_column_differs(left, right, columns) -%}
    {%- if columns | length == 0 -%}
        false
    {%- else -%}
        {%- for column in columns -%}
            ({{ left }}.{{ column }} is distinct from {{ right }}.{{ column }})
            {%- if not loop.last %} or {% endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
