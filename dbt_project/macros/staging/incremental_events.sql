{#-
    Incremental staging of the daily sources.

    Every daily source delivers rows more than once: event logs at least once (web tracker
    retries, messaging webhooks; the first copy is kept), mutable records as a new version on
    every change (orders, receipts, contacts, cards; the latest version is kept). A full build
    ranks every raw row of a key and keeps rank 1. An incremental run reads only the raw rows
    loaded since the newest load the table holds (less `staging_reload_hours`, so a load still
    being written while the last build read the raw zone is never missed), ranks them the same
    way, and emits a batch winner only where the row the table already keeps for that key does
    not rank before it. The table is upserted by key (delete+insert), so a batch row that ranks
    first, or the same row re-extracted, replaces the kept one. The kept row being the winner of
    all earlier rows, this is the winner a full rebuild picks: an incremental night and a rebuild
    give the same rows (unit tests in the models' yml, tests/test_incremental.py on size S).

    A day re-extracted with *fewer* rows than before needs `--full-refresh` of its models to
    forget the vanished rows; erasure deletes from these tables itself (orchestration/erasure.py).
    On Spark over plain Parquet the models are rebuilt as tables (upsert_materialization()).
-#}

{#- Filter of the `source` CTE: raw rows of loads the table has not seen yet. -#}
{% macro new_raw_loads_predicate(loaded_at_column='_loaded_at') -%}
    {%- if is_incremental() -%}
        cast({{ loaded_at_column }} as {{ dbt.type_timestamp() }}) > (
            select
                coalesce(
                    {{ dbt.dateadd('hour', -1 * var('staging_reload_hours', 24) | int,
                                   'max(_loaded_at)') }},
                    cast('1900-01-01' as {{ dbt.type_timestamp() }})
                )
            from {{ this }}
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}


{#- The rows of `ranked` to upsert: rank 1 of its key, and, on an incremental run, only where
    the row the table keeps for the key does not rank strictly before it. `order_by` is the
    ranking of the model's row_number(), as [(column, 'asc' | 'desc'), ...] over non-null
    columns. -#}
{% macro incremental_winners(ranked, key, order_by, rank_column='copy_rank') -%}
    select {{ ranked }}.*
    from {{ ranked }}
    {%- if is_incremental() %}
        left join (
            select
                {{ key }},
                {%- for column, _ in order_by %}
                    {{ column }}{{ "," if not loop.last }}
                {%- endfor %}
            from {{ this }}
        ) as kept
            on
                {{ ranked }}.{{ key }} = kept.{{ key }}
                and {{ clientbase.ranks_before('kept', ranked, order_by) }}
    {%- endif %}
    where
        {{ ranked }}.{{ rank_column }} = 1
        {%- if is_incremental() %}
            and kept.{{ key }} is null
        {%- endif %}
{%- endmacro %}


{% macro ranks_before(left, right, order_by) -%}
    {%- set column, direction = order_by[0] -%}
    {%- set op = '<' if direction == 'asc' else '>' -%}
    {%- if order_by | length == 1 -%}
        {{ left }}.{{ column }} {{ op }} {{ right }}.{{ column }}
    {%- else -%}
        (
            {{ left }}.{{ column }} {{ op }} {{ right }}.{{ column }}
            or (
                {{ left }}.{{ column }} = {{ right }}.{{ column }}
                and {{ clientbase.ranks_before(left, right, order_by[1:]) }}
            )
        )
    {%- endif -%}
{%- endmacro %}


{#- "a asc, b desc" from [('a', 'asc'), ('b', 'desc')]: the ranking written once per model. -#}
{% macro order_by_list(order_by) -%}
    {%- for column, direction in order_by -%}
        {{ column }} {{ direction }}{{ ", " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
