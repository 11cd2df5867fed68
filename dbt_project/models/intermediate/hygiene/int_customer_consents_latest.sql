{{ clientbase.sync_config('customer_channel_id') }}

-- Synchronised, not rewritten (macros/cross_db/incremental_sync.sql): every row is computed
-- as before and only the rows that differ from the stored ones are written, as
-- a night changes the consents of the customers it saw.

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

events as (
    select
        customer_id,
        channel,
        change_kind as event_kind,
        changed_at as event_at
    from consent_events
),

last_consents as (
    select
        customer_id,
        channel,
        max(case when event_kind = 'consent_given' then event_at end) as last_consent_given_at,
        max(event_at) as last_event_at
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
        from (
            select distinct customer_id from source_records
            where customer_id is not null
        ) as customers
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
        last_consents.last_event_at as last_consent_event_at
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
