-- Kept by customer (macros/hygiene/consents_incremental.sql): a night deletes the rows of the
-- customers with a consent event written since the newest stamp the table holds, with another
-- event count on a channel than the row holds (an event was lost), or gone, and computes here
-- every customer without rows.

{{ clientbase.dimension_config('consents_stale_rows') }}

-- Marketing permission per customer and channel, decided by the latest event:
--   consent given / withdrawn: the consent flags of the customer's CRM contacts (at their
--     consent timestamp, else the contact's last update);
--   unsubscribed / not_interested: messaging events on any of the customer's addresses for
--     that channel;
--   not_interested: a reactivation-poll answer "not interested" (every channel).
-- Consented when the latest event gives consent. Otherwise the status names the first opt-out
-- after the last consent (an unsubscribe the CRM later mirrors as "consent withdrawn" stays
-- an unsubscribe). No event at all: no_consent.

{%- set channels = ['email', 'sms', 'whatsapp', 'telegram'] %}

with

-- every consent event before the as-of date, the same list customer_consent_history publishes
consent_events as (
    select * from {{ ref('int_consent_events_unioned') }}
),

source_records as (
    select * from {{ ref('int_source_records_resolved') }}
),

-- every customer, or on a night the customers without rows
customers as (
    select resolved.customer_id
    from (
        select distinct customer_id from source_records
        where customer_id is not null
    ) as resolved
    where {{ clientbase.dimension_key_missing('resolved', ['customer_id']) }}
),

events as (
    select
        consent_events.customer_id,
        consent_events.channel,
        consent_events.change_kind as event_kind,
        consent_events.changed_at as event_at
    from consent_events
    where {{ clientbase.dimension_key_listed('customers', 'consent_events', ['customer_id']) }}
),

last_consents as (
    select
        customer_id,
        channel,
        max(case when event_kind = 'consent_given' then event_at end) as last_consent_given_at,
        max(event_at) as last_event_at,
        count(*) as event_count
    from events
    group by customer_id, channel
),

opt_outs_after_consent as (
    select
        events.customer_id,
        events.channel,
        events.event_kind,
        events.event_at,
        row_number() over (
            partition by events.customer_id, events.channel
            -- the first opt-out names the reason; on a tie the most explicit one
            order by
                events.event_at,
                case events.event_kind when 'unsubscribed' then 0 when 'not_interested' then 1 else 2 end
        ) as opt_out_rank
    from events
    inner join last_consents
        on events.customer_id = last_consents.customer_id and events.channel = last_consents.channel
    where
        events.event_kind <> 'consent_given'
        and (last_consents.last_consent_given_at is null or events.event_at >= last_consents.last_consent_given_at)
),

customer_channels as (
    {%- for channel in channels %}
        select
            customer_id,
            '{{ channel }}' as channel
        from customers
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

final as (
    select
        {{ dbt.concat(["customer_channels.customer_id", "':'", "customer_channels.channel"]) }} as customer_channel_id,
        customer_channels.customer_id,
        customer_channels.channel,
        case
            when last_consents.customer_id is null then 'no_consent'
            when opt_outs.event_kind is null then 'consented'
            when opt_outs.event_kind = 'consent_withdrawn' then 'no_consent'
            else opt_outs.event_kind
        end as consent_status,
        coalesce(opt_outs.event_at, last_consents.last_consent_given_at) as consent_status_at,
        last_consents.last_consent_given_at,
        last_consents.last_event_at as last_consent_event_at,
        -- the customer's events on the channel: the pre-hook finds a customer that lost one
        coalesce(last_consents.event_count, 0) as consent_event_count,
        {{ clientbase.staged_at() }} as _staged_at
    from customer_channels
    left join last_consents
        on
            customer_channels.customer_id = last_consents.customer_id
            and customer_channels.channel = last_consents.channel
    left join opt_outs_after_consent as opt_outs
        on
            customer_channels.customer_id = opt_outs.customer_id
            and customer_channels.channel = opt_outs.channel
            and opt_outs.opt_out_rank = 1
)

select * from final
