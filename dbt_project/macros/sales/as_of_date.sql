{#-
    The business date the customer marts are computed "as of", as a SQL date expression.
    `--vars '{as_of_date: 2026-05-31}'` pins it (the CDNOW demo passes its end date), else the
    environment variable CLIENTBASE_AS_OF_DATE (the nightly job sets it to the partition date
    + 1); without either, today's UTC date, so a plain `dbt build` works. Orders on or after
    this date are ignored: "as of" means "with what was known before it".
    Why an environment variable for the nightly date: dbt re-parses the whole project when any
    var differs from the last parse's (size S: 13 s instead of 7 s per parse), while a changed
    environment variable re-parses only the files that read it; the compiled SQL is rendered at
    run time either way.
-#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date', none) -%}
    {%- if value is none -%}
        {%- set value = env_var('CLIENTBASE_AS_OF_DATE', '') -%}
    {%- endif -%}
    {%- if value | string | trim in ('', 'None', 'null', 'today') -%}
        {#- both engines run with session time zone UTC (profiles.yml) -#}
        current_date
    {%- else -%}
        {%- set text = value | string | trim -%}
        {%- if modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', text) is none -%}
            {{ exceptions.raise_compiler_error(
                "as_of_date (var or CLIENTBASE_AS_OF_DATE) must be a date written YYYY-MM-DD, got '" ~ text ~ "'") }}
        {%- endif -%}
        cast('{{ text }}' as date)
    {%- endif -%}
{%- endmacro %}


{#- Midnight (UTC) starting the as-of date, less `days_before` days, as a timestamp constant.
    For windows on event times: `occurred_at >= as_of_timestamp(30) and occurred_at <
    as_of_timestamp()` holds the same events as comparing cast(occurred_at as date) with the
    dates, but as constant bounds on the column itself, which a scan can check against each row
    group's min/max and skip the old ones. -#}
{% macro as_of_timestamp(days_before=0) -%}
    {%- set day = as_of_date() if days_before == 0
        else dbt.dateadd('day', -1 * days_before, as_of_date()) -%}
    cast({{ day }} as {{ dbt.type_timestamp() }})
{%- endmacro %}
