{{ clientbase.sync_config('consent_change_id') }}

-- Synchronised, not rewritten (macros/cross_db/incremental_sync.sql): every row is computed
-- as before and only the rows that differ from the stored ones are written, as
-- a night adds its own changes of state.

-- Consent as a time-versioned fact: one row per customer × channel × change of state
-- (granted <-> withdrawn), valid from the change until the next one (valid_to null = the state
-- at build time). Events that repeat the current state (a second unsubscribe) are not changes;
-- at equal timestamps a withdrawal sorts after a grant, so an opt-out never loses a tie.

with

events as (
    select * from {{ ref('int_consent_events_unioned') }}
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
        lead(changed_at) over (partition by customer_id, channel order by event_sequence) is null as is_current
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
    is_current
from final
