-- The cleaned contact dimension: one row per contact point / identifier (type + normalised
-- value) with its validity, when and where it was seen, the customer it resolved to, whether
-- identity resolution excluded it (and why), consent per channel and deliverability.
--
-- Consent per channel: the latest CRM consent flag of the CRM contacts carrying the contact
-- point (by its consent timestamp), overridden by a later `unsubscribed` messaging event on
-- that channel. Channels: email for e-mails, sms and whatsapp for phones, telegram for
-- telegram ids; null where the channel does not apply or nobody ever said.
-- Deliverability from messaging events: unsubscribed > hard_bounced (no delivery since the
-- last hard bounce) > soft_bouncing (3+ soft bounces, none delivered since) > deliverable
-- (delivered at least once) > unknown.
--
-- Kept by contact point (macros/identity/dimensions_incremental.sql): a night deletes the rows
-- whose resolved identifier, CRM consents or messaging events changed since the newest stamp
-- the table holds, and computes here every contact point that has no row.

{{ clientbase.dimension_config('dim_contacts_stale_rows') }}

with

resolved as (
    select * from {{ ref('int_identifiers_resolved') }} as identifiers
    where {{ clientbase.dimension_key_missing('identifiers', ['identifier_type', 'identifier_value']) }}
),

observations as (
    select observed.*
    from {{ ref('int_identifiers_unioned') }} as observed
    where {{ clientbase.dimension_key_listed('resolved', 'observed', ['identifier_type', 'identifier_value']) }}
),

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

message_addresses_by_event_type as (
    select * from {{ ref('int_message_addresses_summarised') }}
),

-- CRM consents, one row per (contact point, channel, CRM contact)
crm_consents as (
    {%- set channel_types = [
        ('email', 'email'), ('sms', 'phone'), ('whatsapp', 'phone'), ('telegram', 'telegram_id')
    ] %}
    {%- for channel, identifier_type in channel_types %}
        select
            observations.identifier_type,
            observations.identifier_value,
            '{{ channel }}' as channel,
            contacts.has_consent_{{ channel }} as has_consent,
            coalesce(contacts.consent_{{ channel }}_at, contacts.updated_at) as consent_at
        from observations
        inner join contacts
            on observations.record_id = contacts.contact_id
        where
            observations.record_type = 'crm_contact'
            and observations.identifier_type = '{{ identifier_type }}'
            and contacts.has_consent_{{ channel }} is not null
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

latest_crm_consents as (
    select
        identifier_type,
        identifier_value,
        channel,
        has_consent,
        consent_at
    from (
        select
            crm_consents.identifier_type,
            crm_consents.identifier_value,
            crm_consents.channel,
            crm_consents.has_consent,
            crm_consents.consent_at,
            row_number() over (
                partition by crm_consents.identifier_type, crm_consents.identifier_value, crm_consents.channel
                -- on a tie, a refusal wins over a consent
                order by crm_consents.consent_at desc, case when crm_consents.has_consent then 1 else 0 end asc
            ) as recency_rank
        from crm_consents
    ) as ranked
    where recency_rank = 1
),

-- one row per delivered address and event type, so that the address keys below are computed
-- once per address rather than once per event (size L: 30M events, ~1M addresses)
message_addresses as (
    select
        channel,
        email,
        telegram_id,
        phone,
        address_raw,
        event_type,
        cast(sum(observation_count) as {{ dbt.type_bigint() }}) as event_count,
        max(last_occurred_at) as last_occurred_at
    from message_addresses_by_event_type
    group by channel, email, telegram_id, phone, address_raw, event_type
),

messages_all as (
    select
        {{ clientbase.message_address_identifier() }},
        channel,
        event_type,
        event_count,
        last_occurred_at
    from message_addresses
),

messages as (
    select messages_all.*
    from messages_all
    where {{ clientbase.dimension_key_listed('resolved', 'messages_all', ['identifier_type', 'identifier_value']) }}
),

unsubscribes as (
    select
        identifier_type,
        identifier_value,
        channel,
        max(last_occurred_at) as unsubscribed_at
    from messages
    where event_type = 'unsubscribed' and identifier_value is not null
    group by identifier_type, identifier_value, channel
),

channel_consents as (
    select
        coalesce(latest_crm_consents.identifier_type, unsubscribes.identifier_type) as identifier_type,
        coalesce(latest_crm_consents.identifier_value, unsubscribes.identifier_value) as identifier_value,
        coalesce(latest_crm_consents.channel, unsubscribes.channel) as channel,
        case
            when
                unsubscribes.unsubscribed_at is not null
                and (
                    latest_crm_consents.consent_at is null
                    or unsubscribes.unsubscribed_at >= latest_crm_consents.consent_at
                )
                then false
            else latest_crm_consents.has_consent
        end as has_consent,
        case
            when
                unsubscribes.unsubscribed_at is not null
                and (
                    latest_crm_consents.consent_at is null
                    or unsubscribes.unsubscribed_at >= latest_crm_consents.consent_at
                )
                then unsubscribes.unsubscribed_at
            else latest_crm_consents.consent_at
        end as consent_at
    from latest_crm_consents
    full outer join unsubscribes
        on
            latest_crm_consents.identifier_type = unsubscribes.identifier_type
            and latest_crm_consents.identifier_value = unsubscribes.identifier_value
            and latest_crm_consents.channel = unsubscribes.channel
),

consents_wide as (
    select
        identifier_type,
        identifier_value,
        {%- for channel in ['email', 'sms', 'whatsapp', 'telegram'] %}
            max(
                case
                    when channel = '{{ channel }}' and has_consent then 1
                    when channel = '{{ channel }}' and not has_consent then 0
                end
            ) as consent_{{ channel }}_flag,
            max(
                case when channel = '{{ channel }}' then consent_at end
            ) as {{ channel }}_consent_at{% if not loop.last %},{% endif %}
        {%- endfor %}
    from channel_consents
    group by identifier_type, identifier_value
),

deliveries as (
    select
        identifier_type,
        identifier_value,
        sum(case when event_type = 'sent' then event_count else 0 end) as sent_count,
        sum(case when event_type = 'delivered' then event_count else 0 end) as delivered_count,
        sum(case when event_type = 'bounced_hard' then event_count else 0 end) as hard_bounce_count,
        sum(case when event_type = 'bounced_soft' then event_count else 0 end) as soft_bounce_count,
        max(case when event_type in ('delivered', 'opened', 'clicked') then last_occurred_at end) as last_delivered_at,
        max(case when event_type = 'bounced_hard' then last_occurred_at end) as last_hard_bounced_at,
        max(case when event_type = 'bounced_soft' then last_occurred_at end) as last_soft_bounced_at,
        max(case when event_type = 'unsubscribed' then last_occurred_at end) as unsubscribed_at,
        max(case when event_type = 'not_interested' then last_occurred_at end) as not_interested_at
    from messages
    where identifier_value is not null
    group by identifier_type, identifier_value
),

final as (
    select
        {{ dbt.hash('resolved.identifier') }} as contact_point_id,
        resolved.identifier_type,
        resolved.identifier_value,
        resolved.is_valid,
        resolved.first_seen_at,
        resolved.last_seen_at,
        resolved.source_systems,
        cast(resolved.record_count as {{ dbt.type_bigint() }}) as record_count,
        resolved.customer_id,
        resolved.resolution_method,
        resolved.is_excluded,
        resolved.exclusion_reason,
        resolved.exclusion_detail,
        case consents_wide.consent_email_flag when 1 then true when 0 then false end as has_email_consent,
        consents_wide.email_consent_at,
        case consents_wide.consent_sms_flag when 1 then true when 0 then false end as has_sms_consent,
        consents_wide.sms_consent_at,
        case consents_wide.consent_whatsapp_flag when 1 then true when 0 then false end as has_whatsapp_consent,
        consents_wide.whatsapp_consent_at,
        case consents_wide.consent_telegram_flag when 1 then true when 0 then false end as has_telegram_consent,
        consents_wide.telegram_consent_at,
        cast(coalesce(deliveries.sent_count, 0) as {{ dbt.type_bigint() }}) as sent_count,
        cast(coalesce(deliveries.delivered_count, 0) as {{ dbt.type_bigint() }}) as delivered_count,
        cast(coalesce(deliveries.hard_bounce_count, 0) as {{ dbt.type_bigint() }}) as hard_bounce_count,
        cast(coalesce(deliveries.soft_bounce_count, 0) as {{ dbt.type_bigint() }}) as soft_bounce_count,
        deliveries.last_delivered_at,
        deliveries.last_hard_bounced_at,
        deliveries.unsubscribed_at,
        deliveries.not_interested_at,
        case
            when deliveries.identifier_value is null then 'unknown'
            when deliveries.unsubscribed_at is not null then 'unsubscribed'
            when
                deliveries.last_hard_bounced_at is not null
                and (
                    deliveries.last_delivered_at is null
                    or deliveries.last_delivered_at < deliveries.last_hard_bounced_at
                )
                then 'hard_bounced'
            when
                deliveries.soft_bounce_count >= 3
                and (
                    deliveries.last_delivered_at is null
                    or deliveries.last_delivered_at < deliveries.last_soft_bounced_at
                )
                then 'soft_bouncing'
            when deliveries.last_delivered_at is not null then 'deliverable'
            else 'unknown'
        end as deliverability_status,
        {{ clientbase.staged_at() }} as _staged_at
    from resolved
    left join consents_wide
        on
            resolved.identifier_type = consents_wide.identifier_type
            and resolved.identifier_value = consents_wide.identifier_value
    left join deliveries
        on
            resolved.identifier_type = deliveries.identifier_type
            and resolved.identifier_value = deliveries.identifier_value
)

select
    contact_point_id,
    identifier_type,
    identifier_value,
    is_valid,
    first_seen_at,
    last_seen_at,
    source_systems,
    record_count,
    customer_id,
    resolution_method,
    is_excluded,
    exclusion_reason,
    exclusion_detail,
    has_email_consent,
    email_consent_at,
    has_sms_consent,
    sms_consent_at,
    has_whatsapp_consent,
    whatsapp_consent_at,
    has_telegram_consent,
    telegram_consent_at,
    sent_count,
    delivered_count,
    hard_bounce_count,
    soft_bounce_count,
    last_delivered_at,
    last_hard_bounced_at,
    unsubscribed_at,
    not_interested_at,
    deliverability_status,
    _staged_at
from final
