{#-
    Incremental summaries of the event logs.

    The web and messaging logs (size L: 39M and 30M events) are read by the identity models per
    cookie or per address, as min / max / count: aggregates that decompose, so last night's
    summary plus a summary of tonight's events is the summary of all events. A summary model
    keeps one row per key with `observation_count` (events summarised) and `_loaded_at` (the
    newest load among them); a night reads only the events loaded after the table's newest load
    and merges their aggregates into the rows of their keys (delete+insert on a null-safe hash
    of the key columns).

    That is exact only while the summary still accounts for every event it has seen, and the
    staging tables can change behind it: an earlier copy of an event found late replaces the
    kept one with a newer load time (incremental_winners), a load still being written during the
    previous build arrives with an older load time, and erasure deletes rows from both. So before
    merging, the events loaded up to the summary's newest load are counted: when they are not
    exactly the events the summary counted, the summary is recomputed from all events, and the
    run says so in dbt's log. Where the engine cannot upsert (Spark over Parquet) the summaries
    are tables rebuilt on every run.
-#}

{#- The config of an event summary: upserted by its key like the daily staging models
    (incremental_staging_config), and emptied by a pre-hook when tonight's run recomputes it
    whole. `events_model`: the name of the staging log it summarises. -#}
{% macro event_summary_config(unique_key, events_model) -%}
    {{ clientbase.incremental_staging_config(unique_key=unique_key) }}
    {{ config(pre_hook="{{ clientbase.event_summary_pre_hook(ref('" ~ events_model ~ "')) }}") }}
{%- endmacro %}


{#- The state of an event summary for tonight's run: the newest load it holds (text) when its
    rows can be merged with the events loaded since, none when it must be recomputed whole
    (first or full-refresh build, or a summary that no longer matches its events). Var
    `event_summary_loaded_since` replaces the lookup (unit tests, whose inputs are fixtures). -#}
{% macro event_summary_merge_since(events_relation, say=false) -%}
    {#- written as one if/else chain: the linter's stand-in for `return` does not leave a macro -#}
    {%- set fixed = var('event_summary_loaded_since', none) -%}
    {%- if not is_incremental() -%}
        {{ return(none) }}
    {%- elif fixed is not none or not execute -%}
        {{ return(fixed) }}
    {%- else -%}
        {%- set held = run_query(
            'select cast(max(_loaded_at) as ' ~ dbt.type_string() ~ '), '
            ~ 'cast(coalesce(sum(observation_count), 0) as ' ~ dbt.type_bigint() ~ ') from ' ~ this
        ) -%}
        {%- set newest = held.columns[0].values()[0] -%}
        {%- set summarised = held.columns[1].values()[0] | int -%}
        {%- set seen = none -%}
        {%- if newest is not none -%}
            {%- set seen = run_query(
                'select count(*) from ' ~ events_relation
                ~ " where _loaded_at <= cast('" ~ newest ~ "' as " ~ dbt.type_timestamp() ~ ')'
            ).columns[0].values()[0] | int -%}
        {%- endif -%}
        {%- if newest is not none and seen != summarised and say -%}
            {{ log(this.identifier ~ ': ' ~ seen ~ ' events loaded up to ' ~ newest ~ ' but '
                   ~ summarised ~ ' summarised (a replaced copy, a late load or an erasure): '
                   ~ 'recomputing the summary from all events', info=true) }}
        {%- endif -%}
        {{ return(newest if newest is not none and seen == summarised else none) }}
    {%- endif -%}
{%- endmacro %}


{#- Pre-hook of a summary: empties it when tonight's run recomputes it whole, so that keys whose
    events are gone (erasure) go too. The model's body reads the same state. -#}
{% macro event_summary_pre_hook(events_relation) -%}
    {%- if is_incremental() and execute
          and clientbase.event_summary_merge_since(events_relation, say=true) is none -%}
        delete from {{ this }}
    {%- endif -%}
{%- endmacro %}


{#- A null-safe key of several columns as one hash: delete+insert matches keys with `=`, which
    never matches a null. -#}
{% macro null_safe_key(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '<null>')") -%}
        {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}


{#- The merged aggregates of a key: `batch` (tonight's summary) combined with `kept` (the row
    the table holds; none for a new key or a summary computed whole).
    `aggregates`: [(column, 'min' | 'max' | 'sum')]. -#}
{% macro event_summary_merged_columns(aggregates) -%}
    {%- for column, kind in aggregates %}
        {%- if kind == 'sum' %}
            batch.{{ column }} + coalesce(kept.{{ column }}, 0) as {{ column }}
        {%- else %}
            coalesce({{ 'least' if kind == 'min' else 'greatest' }}(batch.{{ column }}, kept.{{ column }}),
                     batch.{{ column }}, kept.{{ column }}) as {{ column }}
        {%- endif %}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{#- Whether every event a summary counts happened before the as-of date, so that per-key
    aggregates "before the as-of date" are the summary's own (true on a normal night, whose
    as-of date is the day after its newest partition); otherwise the readers go to the log
    itself. False at parse time (both relations are refs of the reader either way); var
    `event_summaries_before_as_of` decides it in unit tests. -#}
{% macro event_summary_before_as_of(summary_relation) -%}
    {%- set fixed = var('event_summaries_before_as_of', none) -%}
    {%- if fixed is not none -%}
        {{ return(fixed in (true, 'true', 'True', 1)) }}
    {%- elif not execute -%}
        {{ return(false) }}
    {%- else -%}
        {%- set late = run_query(
            'select count(*) from ' ~ summary_relation
            ~ ' where cast(last_occurred_at as date) >= ' ~ clientbase.as_of_date()
        ).columns[0].values()[0] | int -%}
        {{ return(late == 0) }}
    {%- endif -%}
{%- endmacro %}


{#- The select of an event summary model: the events loaded since the summary's newest load
    (all of them when it is computed whole) summarised per key, merged with the rows the table
    holds for those keys. `events`: the staging log; `key_name`: the hashed key column;
    `key_columns`: the columns of a key. -#}
{% macro event_log_summary(events, key_name, key_columns) -%}
    {%- set merge_since = clientbase.event_summary_merge_since(events) %}

    with

    events as (
        select * from {{ events }}
    ),

    batch as (
        select
            {{ clientbase.null_safe_key(key_columns) }} as {{ key_name }},
            {%- for column in key_columns %}
                {{ column }},
            {%- endfor %}
            min(occurred_at) as first_occurred_at,
            max(occurred_at) as last_occurred_at,
            cast(count(*) as {{ dbt.type_bigint() }}) as observation_count,
            max(_loaded_at) as _loaded_at
        from events
        where {{ clientbase.newer_than('_loaded_at', merge_since) }}
        group by {{ key_columns | join(', ') }}
    ),

    -- the rows the table holds for tonight's keys: none when the summary is computed whole
    kept as (
        {%- if merge_since is not none %}
            select * from {{ this }}
        {%- else %}
            select * from batch
            where 1 = 0
        {%- endif %}
    ),

    final as (
        select
            batch.{{ key_name }},
            {%- for column in key_columns %}
                batch.{{ column }},
            {%- endfor %}
            {{ clientbase.event_summary_merged_columns([
                ('first_occurred_at', 'min'),
                ('last_occurred_at', 'max'),
                ('observation_count', 'sum'),
                ('_loaded_at', 'max'),
            ]) }},
            -- every row this run writes (a merged key, or all of them when computed whole)
            {{ clientbase.staged_at() }} as _staged_at
        from batch
        left join kept
            on batch.{{ key_name }} = kept.{{ key_name }}
    )

    select * from final
{%- endmacro %}
