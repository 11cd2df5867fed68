{{
    config(
        materialized=clientbase.upsert_materialization(),
        unique_key='address_event_type_id',
        incremental_strategy=clientbase.upsert_strategy(),
        on_schema_change='fail',
        pre_hook="{{ clientbase.event_summary_pre_hook(ref('stg_messaging__events')) }}",
    )
}}

-- The messaging log per address and event type: what the ESP and the messengers reported for
-- each address of each channel, with when and how often. Size L: 30M events, ~4M rows.
-- Incremental like int_web_identifier_sets (macros/staging/event_summaries.sql).

{%- set merge_since = clientbase.event_summary_merge_since(ref('stg_messaging__events')) %}
{%- set key_columns = [
    'channel', 'address_raw', 'email', 'is_address_valid', 'phone', 'telegram_id', 'event_type',
] %}

with

message_events as (
    select * from {{ ref('stg_messaging__events') }}
),

batch as (
    select
        {{ clientbase.null_safe_key(key_columns) }} as address_event_type_id,
        {{ key_columns | join(',\n        ') }},
        min(occurred_at) as first_occurred_at,
        max(occurred_at) as last_occurred_at,
        cast(count(*) as {{ dbt.type_bigint() }}) as observation_count,
        max(_loaded_at) as _loaded_at
    from message_events
    where {{ clientbase.event_summary_batch_predicate('_loaded_at', merge_since) }}
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
        batch.address_event_type_id,
        {%- for column in key_columns %}
            batch.{{ column }},
        {%- endfor %}
        {{ clientbase.event_summary_merged_columns([
            ('first_occurred_at', 'min'),
            ('last_occurred_at', 'max'),
            ('observation_count', 'sum'),
            ('_loaded_at', 'max'),
        ]) }}
    from batch
    left join kept
        on batch.address_event_type_id = kept.address_event_type_id
)

select * from final
