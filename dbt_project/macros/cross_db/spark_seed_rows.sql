{#-
    Seeds on Spark with their text intact.

    dbt-spark's session connection pastes every seed value between single quotes without
    escaping it: a value with an apostrophe ("Can't lose" in rfm_segments) breaks the insert,
    and Spark SQL reads backslashes in string literals as escapes, so the regex `example\.com`
    in identity_junk_blocklist would silently arrive as `example.com`. The project's dispatch
    config searches clientbase before dbt, so this implementation replaces dbt-spark's: it
    writes every value as a Spark SQL literal itself (backslash and quote escaped) instead of
    handing bindings to the connection.
-#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set batch_size = get_batch_size() -%}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set types = [] -%}
    {%- for col_name in agate_table.column_names -%}
        {%- do types.append(column_override.get(col_name, adapter.convert_type(agate_table, loop.index0))) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(batch_size) -%}
        {%- set rows = [] -%}
        {%- for row in chunk -%}
            {%- set cells = [] -%}
            {%- for value in row -%}
                {%- do cells.append('cast(' ~ clientbase.spark_seed_literal(value) ~ ' as ' ~ types[loop.index0] ~ ')') -%}
            {%- endfor -%}
            {%- do rows.append('(' ~ cells | join(', ') ~ ')') -%}
        {%- endfor -%}
        {%- set sql = 'insert into ' ~ this.render() ~ ' values\n' ~ rows | join(',\n') -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first -%}
            {%- do statements.append(sql) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{% endmacro %}


{#- One CSV value (as agate parsed it) → a Spark SQL literal. -#}
{% macro spark_seed_literal(value) -%}
    {%- if value is none -%}
        {{- return('null') -}}
    {%- elif value is sameas true or value is sameas false -%}
        {{- return('true' if value else 'false') -}}
    {%- elif value is number -%}
        {{- return(value | string) -}}
    {%- elif value.hour is defined -%}
        {{- return("'" ~ value.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "'") -}}
    {%- elif value.strftime is defined -%}
        {{- return("'" ~ value.strftime('%Y-%m-%d') ~ "'") -}}
    {%- else -%}
        {{- return("'" ~ (value | string) | replace('\\', '\\\\') | replace("'", "\\'") ~ "'") -}}
    {%- endif -%}
{%- endmacro %}
