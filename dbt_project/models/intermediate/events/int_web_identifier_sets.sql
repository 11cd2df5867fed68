{{
    config(
        materialized=clientbase.upsert_materialization(),
        unique_key='identifier_set_id',
        incremental_strategy=clientbase.upsert_strategy(),
        on_schema_change='fail',
        pre_hook="{{ clientbase.event_summary_pre_hook(ref('stg_web__events')) }}",
    )
}}

-- The web log per cookie and identifier set: each distinct (cookie, CRM user, e-mail) the
-- tracker logged, with when and how often. Size L: 39M events, ~3M sets. Incremental: a night
-- summarises the events loaded since the newest load held here and merges them into their sets
-- (macros/staging/event_summaries.sql), so no nightly model reads the whole log for identity.

{%- set merge_since = clientbase.event_summary_merge_since(ref('stg_web__events')) %}

with

web_events as (
    select * from {{ ref('stg_web__events') }}
),

batch as (
    select
        {{ clientbase.null_safe_key(['anonymous_id', 'user_id', 'email', 'is_email_valid']) }}
            as identifier_set_id,
        anonymous_id,
        user_id,
        email,
        is_email_valid,
        min(occurred_at) as first_occurred_at,
        max(occurred_at) as last_occurred_at,
        cast(count(*) as {{ dbt.type_bigint() }}) as observation_count,
        max(_loaded_at) as _loaded_at
    from web_events
    where {{ clientbase.event_summary_batch_predicate('_loaded_at', merge_since) }}
    group by anonymous_id, user_id, email, is_email_valid
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
        batch.identifier_set_id,
        batch.anonymous_id,
        batch.user_id,
        batch.email,
        batch.is_email_valid,
        {{ clientbase.event_summary_merged_columns([
            ('first_occurred_at', 'min'),
            ('last_occurred_at', 'max'),
            ('observation_count', 'sum'),
            ('_loaded_at', 'max'),
        ]) }}
    from batch
    left join kept
        on batch.identifier_set_id = kept.identifier_set_id
)

select * from final
