{#-
    Time-zone conversion between UTC and a wall-clock time in an IANA zone, both as timestamps
    without zone. The zone may be a column. Engines disagree on the spelling: DuckDB does it with
    the built-in icu extension's timezone(), Spark with to_utc_timestamp/from_utc_timestamp.
-#}
{% macro local_to_utc(local_timestamp, time_zone) %}
    {{ return(adapter.dispatch('local_to_utc', 'clientbase')(local_timestamp, time_zone)) }}
{% endmacro %}

{% macro duckdb__local_to_utc(local_timestamp, time_zone) -%}
    {#- timezone(zone, timestamp) reads the wall clock in `zone` and gives an instant;
        timezone('UTC', instant) prints that instant on a UTC wall clock, whatever the
        session TimeZone is. -#}
    timezone('UTC', timezone({{ time_zone }}, cast({{ local_timestamp }} as timestamp)))
{%- endmacro %}

{% macro spark__local_to_utc(local_timestamp, time_zone) -%}
    to_utc_timestamp(cast({{ local_timestamp }} as timestamp), {{ time_zone }})
{%- endmacro %}


{% macro utc_to_local(utc_timestamp, time_zone) %}
    {{ return(adapter.dispatch('utc_to_local', 'clientbase')(utc_timestamp, time_zone)) }}
{% endmacro %}

{% macro duckdb__utc_to_local(utc_timestamp, time_zone) -%}
    timezone({{ time_zone }}, timezone('UTC', cast({{ utc_timestamp }} as timestamp)))
{%- endmacro %}

{% macro spark__utc_to_local(utc_timestamp, time_zone) -%}
    from_utc_timestamp(cast({{ utc_timestamp }} as timestamp), {{ time_zone }})
{%- endmacro %}
