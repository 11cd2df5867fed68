-- Deliverability of every address marketing has sent to, per channel: one row per channel and
-- identifier (email for the email channel, phone for sms and whatsapp, telegram id), with its
-- bounce history, its opt-out events and the customer it resolves to.
-- Addresses are keyed as identity keys them (identity_email_key: one Gmail mailbox whatever its
-- dots; identity_messaging_phone: the ESP's bare digits read as E.164), so they join
-- int_identifiers_resolved and dim_customers' best e-mail / phone.
-- Undeliverable = a hard bounce, or `soft_bounce_limit` soft bounces since the last delivery.

{%- set soft_bounce_limit = clientbase.hygiene_setting('soft_bounce_limit') | int %}

with

message_events as (
    select * from {{ ref('stg_messaging__events') }}
),

identifiers as (
    select * from {{ ref('int_identifiers_resolved') }}
),

-- one row per delivered address, event type and, for soft bounces only, event time: the
-- address keys below are then computed once per address rather than once per event (size L:
-- 30M events, ~1M addresses), and soft bounces keep the times the delivery rule compares.
-- When every logged event lies before the as-of date (a normal night), the log's summary has
-- the counts and last times of every other event type, and only soft bounces are read.
{%- if clientbase.event_summary_before_as_of(ref('int_message_addresses_summarised')) %}
    message_address_summaries as (
        select * from {{ ref('int_message_addresses_summarised') }}
    ),

    message_addresses as (
        select
            channel,
            email,
            telegram_id,
            phone,
            address_raw,
            event_type,
            cast(null as {{ dbt.type_timestamp() }}) as soft_bounced_at,
            cast(sum(observation_count) as {{ dbt.type_bigint() }}) as event_count,
            max(last_occurred_at) as last_occurred_at
        from message_address_summaries
        where event_type is distinct from 'bounced_soft'
        group by 1, 2, 3, 4, 5, 6
        union all
        select
            channel,
            email,
            telegram_id,
            phone,
            address_raw,
            event_type,
            occurred_at as soft_bounced_at,
            count(*) as event_count,
            max(occurred_at) as last_occurred_at
        from message_events
        where event_type = 'bounced_soft'
        group by 1, 2, 3, 4, 5, 6, 7
    ),
{%- else %}
    bounds as (
        select {{ clientbase.as_of_date() }} as as_of_date
    ),

    message_addresses as (
        select
            message_events.channel,
            message_events.email,
            message_events.telegram_id,
            message_events.phone,
            message_events.address_raw,
            message_events.event_type,
            case when message_events.event_type = 'bounced_soft' then message_events.occurred_at end
                as soft_bounced_at,
            count(*) as event_count,
            max(message_events.occurred_at) as last_occurred_at
        from message_events
        cross join bounds
        where cast(message_events.occurred_at as date) < bounds.as_of_date
        group by 1, 2, 3, 4, 5, 6, 7
    ),
{%- endif %}

addressed as (
    select
        channel,
        {{ clientbase.message_address_identifier() }},
        event_type,
        soft_bounced_at,
        event_count,
        last_occurred_at
    from message_addresses
),

deliveries as (
    select
        channel,
        identifier_type,
        identifier_value,
        max(case when event_type in ('delivered', 'opened', 'clicked') then last_occurred_at end) as last_delivered_at
    from addressed
    where identifier_value is not null
    group by 1, 2, 3
),

summarised as (
    select
        addressed.channel,
        addressed.identifier_type,
        addressed.identifier_value,
        sum(case when addressed.event_type = 'sent' then addressed.event_count else 0 end) as sent_count,
        sum(case when addressed.event_type = 'delivered' then addressed.event_count else 0 end) as delivered_count,
        sum(
            case when addressed.event_type in ('opened', 'clicked') then addressed.event_count else 0 end
        ) as engaged_count,
        sum(
            case when addressed.event_type = 'bounced_hard' then addressed.event_count else 0 end
        ) as hard_bounce_count,
        sum(
            case when addressed.event_type = 'bounced_soft' then addressed.event_count else 0 end
        ) as soft_bounce_count,
        sum(
            case
                when
                    addressed.event_type = 'bounced_soft'
                    and (
                        deliveries.last_delivered_at is null
                        or addressed.soft_bounced_at > deliveries.last_delivered_at
                    )
                    then addressed.event_count
                else 0
            end
        ) as soft_bounces_since_delivery,
        max(
            case when addressed.event_type = 'bounced_hard' then addressed.last_occurred_at end
        ) as last_hard_bounced_at,
        max(deliveries.last_delivered_at) as last_delivered_at,
        max(
            case when addressed.event_type = 'unsubscribed' then addressed.last_occurred_at end
        ) as unsubscribed_at,
        max(
            case when addressed.event_type = 'not_interested' then addressed.last_occurred_at end
        ) as not_interested_at
    from addressed
    inner join deliveries
        on
            addressed.channel = deliveries.channel
            and addressed.identifier_type = deliveries.identifier_type
            and addressed.identifier_value = deliveries.identifier_value
    group by 1, 2, 3
),

final as (
    select
        {{ dbt.concat(["summarised.channel", "':'", "summarised.identifier_value"]) }} as channel_address_id,
        summarised.channel,
        summarised.identifier_type,
        summarised.identifier_value,
        identifiers.customer_id,
        summarised.sent_count,
        summarised.delivered_count,
        summarised.engaged_count,
        summarised.hard_bounce_count,
        summarised.soft_bounce_count,
        summarised.soft_bounces_since_delivery,
        summarised.last_hard_bounced_at,
        summarised.last_delivered_at,
        summarised.unsubscribed_at,
        summarised.not_interested_at,
        -- a mailbox that bounced hard and later took a delivery was fixed (a full inbox, a typo
        -- corrected at the ESP): only a hard bounce since the last delivery counts
        (
            summarised.last_hard_bounced_at is not null
            and (summarised.last_delivered_at is null or summarised.last_hard_bounced_at > summarised.last_delivered_at)
        ) as is_hard_bounced,
        summarised.soft_bounces_since_delivery >= {{ soft_bounce_limit }} as is_soft_bouncing
    from summarised
    left join identifiers
        on
            summarised.identifier_type = identifiers.identifier_type
            and summarised.identifier_value = identifiers.identifier_value
)

select * from final
