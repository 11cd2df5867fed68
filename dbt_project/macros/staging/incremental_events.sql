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

{#- Filter of the `source` CTE: raw rows of loads the table has not seen yet. Two constants are
    read at run time and written into the SQL, so the engine skips every raw file whose
    `_loaded_at` statistics lie before them (one value per file: the scan costs the new files,
    not the history):
    - the newest load the table holds, less `staging_reload_hours`: within that margin a load
      (landing file + load time) still being written while the last build read the raw zone is
      picked up now;
    - the earliest load within that margin that the table does not hold, found by comparing the
      distinct (file, load time) pairs of the raw zone and of the table (two small lists).
    Without the second one, the first night after a history load re-read the whole history,
    all of it loaded within the margin, and anti-joined it with the table (on size L, 58 s of
    stg_web__events' 60 s for 11 new days). `raw_alias`: the alias of the raw source in the CTE;
    `raw_relation`: that source. Var `staging_loaded_since` replaces the table's newest load and
    skips the second lookup (unit tests, whose sources are fixtures). -#}
{% macro new_raw_loads_predicate(raw_alias, raw_relation=none) -%}
    {%- set loaded_at_column = raw_alias ~ '._loaded_at' -%}
    {%- set file_column = raw_alias ~ '._source_file' -%}
    {%- if is_incremental() -%}
        {%- set newest = var('staging_loaded_since', none) -%}
        {%- set look_up = newest is none and raw_relation is not none -%}
        {%- if newest is none and execute -%}
            {%- set newest = run_query(
                'select cast(max(_loaded_at) as ' ~ dbt.type_string() ~ ') from ' ~ this
            ).columns[0].values()[0] -%}
        {%- endif -%}
        {%- if newest is none -%}
            true
        {%- else -%}
            {#- loads after the margin's start; with the lookup, from the first load not held -#}
            {%- set bound = dbt.dateadd('hour', -1 * var('staging_reload_hours', 24) | int,
                                        "cast('" ~ newest ~ "' as " ~ dbt.type_timestamp() ~ ")") -%}
            {%- set after_bound = '>' -%}
            {%- set first_new = none -%}
            {%- if look_up and execute -%}
                {%- set first_new = run_query(
                    clientbase.first_new_raw_load_query(raw_relation, bound)
                ).columns[0].values()[0] -%}
                {%- if first_new is not none -%}
                    {%- set bound = "cast('" ~ first_new ~ "' as " ~ dbt.type_timestamp() ~ ")" -%}
                    {%- set after_bound = '>=' -%}
                {%- endif -%}
            {%- endif -%}
            {%- if look_up and execute and first_new is none %}
            1 = 0
            {%- else %}
            {{ loaded_at_column }} {{ after_bound }} {{ bound }}
            and not exists (
                select 1
                from {{ this }} as already_loaded
                where
                    already_loaded._loaded_at {{ after_bound }} {{ bound }}
                    and already_loaded._source_file = {{ file_column }}
                    and already_loaded._loaded_at = cast({{ loaded_at_column }} as {{ dbt.type_timestamp() }})
            )
            {%- endif -%}
        {%- endif -%}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}


{#- The earliest load (as text) of `raw_relation` after `since` whose (file, load time) the
    incremental model does not hold yet; null when there is none. -#}
{% macro first_new_raw_load_query(raw_relation, since) -%}
    with

    raw_loads as (
        select distinct
            _source_file,
            cast(_loaded_at as {{ dbt.type_timestamp() }}) as _loaded_at
        from {{ raw_relation }}
        where _loaded_at > {{ since }}
    ),

    kept_loads as (
        select distinct
            _source_file,
            _loaded_at
        from {{ this }}
        where _loaded_at > {{ since }}
    )

    select cast(min(raw_loads._loaded_at) as {{ dbt.type_string() }})
    from raw_loads
    left join kept_loads
        on
            raw_loads._source_file = kept_loads._source_file
            and raw_loads._loaded_at = kept_loads._loaded_at
    where kept_loads._source_file is null
{%- endmacro %}


{#- The rows of `relation` to upsert: the first copy of each key in `order_by`'s ranking
    (row_number() as `copy_rank`), and, on an incremental run, only where the row the table
    keeps for the key does not rank strictly before it. `order_by`: [(column, 'asc' | 'desc'),
    ...] over non-null columns, ending in the raw zone's lineage (day, file, line). The macro
    adds the load time, latest first, as the last tiebreak, so that no two copies tie (the
    ranks are joined back on these columns): the same line loaded twice (a re-extracted day)
    keeps its newest load, in a rebuild as in a night.

    Only keys delivered more than once are ranked: a window over every row sorts every column of
    every row by key, while nearly all keys arrive once (size L's web events: 19k repeats in
    39.5M rows; the window was 40 of the model's 80 thread-seconds). The repeated keys are found
    by grouping the key alone, their copies ranked over the key and ranking columns alone, and
    the ranks joined back on those columns (null-safe; the lineage and load time in them make
    the join one-to-one); every other row is its key's only copy, rank 1. Same rows as ranking
    every row, null keys included (one partition, as in the window). On DuckDB the model's
    `source` CTE must be inlined (inline_cte()), or it is materialized for the three reads of
    `relation`. -#}
{% macro incremental_winners(relation, key, order_by) -%}
    {%- set order_by = order_by + [('_loaded_at', 'desc')] -%}
    select ranked.*
    from (
        select
            {{ relation }}.*,
            coalesce(repeat_ranks.copy_rank, 1) as copy_rank
        from {{ relation }}
        left join (
            select
                {{ key }},
                {%- for column, _ in order_by %}
                    {{ column }},
                {%- endfor %}
                row_number() over (
                    partition by {{ key }}
                    order by {{ clientbase.order_by_list(order_by) }}
                ) as copy_rank
            from {{ relation }}
            where
                {{ key }} is null
                or {{ key }} in (
                    select {{ key }}
                    from {{ relation }}
                    where {{ key }} is not null
                    group by {{ key }}
                    having count(*) > 1
                )
        ) as repeat_ranks
            on
                {{ relation }}.{{ key }} is not distinct from repeat_ranks.{{ key }}
                {%- for column, _ in order_by %}
                and {{ relation }}.{{ column }} is not distinct from repeat_ranks.{{ column }}
                {%- endfor %}
    ) as ranked
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
                ranked.{{ key }} = kept.{{ key }}
                and {{ clientbase.ranks_before('kept', 'ranked', order_by) }}
    {%- endif %}
    where
        ranked.copy_rank = 1
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


{#- The config of every daily staging model: upserted by its key (upsert_config,
    macros/cross_db/incremental_by_engine.sql). -#}
{% macro incremental_staging_config(unique_key) -%}
    {#- every staged row carries staged_at() (staging_lineage_columns, event summaries) -#}
    {{ clientbase.upsert_config(unique_key, run_stamped=true) }}
{%- endmacro %}
