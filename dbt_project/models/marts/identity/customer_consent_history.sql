-- depends_on: {{ ref('int_customer_consents_latest') }}
-- Kept by customer (macros/hygiene/consents_incremental.sql): a night deletes the rows of the
-- customers int_customer_consents_latest recomputed since the newest stamp this table holds
-- (their consent events changed) or that it no longer holds, and computes here the history of
-- every customer without rows.

{{ clientbase.dimension_config('consent_history_stale_rows') }}

-- Consent as a time-versioned fact: one row per customer × channel × change of state
-- (granted <-> withdrawn), valid from the change until the next one (valid_to null = the state
-- at build time). Events that repeat the current state (a second unsubscribe) are not changes;
-- at equal timestamps a withdrawal sorts after a grant, so an opt-out never loses a tie.

with

events as (
    select * from {{ ref('int_consent_events_unioned') }} as consent_events
    where {{ clientbase.dimension_key_missing('consent_events', ['customer_id']) }}
),

ordered as (
    select
        *,
        row_number() over (
            partition by customer_id, channel
            order by
                changed_at,
                case when consent_state = 'granted' then 0 else 1 end,
                source_record_id
        ) as event_sequence
    from events
),

with_previous as (
    select
        *,
        lag(consent_state) over (partition by customer_id, channel order by event_sequence) as previous_state
    from ordered
),

changes as (
    select *
    from with_previous
    where previous_state is null or previous_state <> consent_state
),

final as (
    select
        consent_event_id as consent_change_id,
        customer_id,
        channel,
        consent_state,
        change_kind,
        change_source,
        source_record_id,
        changed_at as valid_from,
        lead(changed_at) over (partition by customer_id, channel order by event_sequence) as valid_to,
        lead(changed_at) over (partition by customer_id, channel order by event_sequence) is null as is_current,
        {{ clientbase.staged_at() }} as _staged_at
    from changes
)

select
    consent_change_id,
    customer_id,
    channel,
    consent_state,
    change_kind,
    change_source,
    source_record_id,
    valid_from,
    valid_to,
    is_current,
    _staged_at
from final
