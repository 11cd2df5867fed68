-- Hygiene findings per customer: one flag and one reason column per rule, with the evidence.
--   stale time zone   profile zone contradicted by recent web/store evidence (intermediate rule)
--   inactive          no activity of the counted kinds for `inactive_days`
--   never active      no activity at all, first collected at least `never_active_min_age_days` ago
--   undeliverable     per address: invalid (email-validator / phonenumbers), hard bounce since
--                     the last delivery, repeated soft bounces, role mailbox, disposable domain
--   consent           per channel, by the latest event (consented / no_consent / unsubscribed /
--                     not_interested)
--   duplicate         several CRM contacts resolved into this customer (a CRM to-do list)
-- An address the contact-point checks have not seen (the asset did not run since it arrived)
-- is not called invalid: the warn-level test on phone says it is missing. A phone staging's
-- normaliser refuses (kept by identity from a messaging address) is invalid.
-- A channel is sendable when it has an address that is deliverable, consent is given, and the
-- customer is neither inactive nor never active. The best send hour is local to the current
-- (inferred) time zone.

{%- set inactive_days = clientbase.hygiene_setting('inactive_days') | int %}
{%- set never_active_age = clientbase.hygiene_setting('never_active_min_age_days') | int %}
{%- set default_hour = clientbase.hygiene_setting('default_send_hour') | int %}
{%- set channels = ['email', 'sms', 'whatsapp', 'telegram'] %}
{%- set never_active_cutoff = dbt.dateadd('day', -never_active_age, 'bounds.as_of_date') %}
{%- set collected_day = "cast(cast(first_collected_at as date) as " ~ dbt.type_string() ~ ")" %}
{%- set last_active_day = "cast(cast(last_activity_at as date) as " ~ dbt.type_string() ~ ")" %}
{#- why a channel is not sendable: `|`-joined parts, each empty or ending in `|` -#}
{%- set exclusion_reasons = {} %}
{%- for channel, address in {'email': 'email', 'sms': 'phone', 'whatsapp': 'phone', 'telegram': 'telegram_id'}.items() %}
    {%- set undeliverable = {
        'email': 'is_email_undeliverable',
        'sms': 'is_phone_invalid or is_sms_hard_bounced or is_sms_soft_bouncing',
        'whatsapp': 'is_phone_invalid or is_whatsapp_hard_bounced or is_whatsapp_soft_bouncing',
        'telegram': 'is_telegram_hard_bounced or is_telegram_soft_bouncing',
    }[channel] %}
    {%- set parts = [
        "case when " ~ address ~ " is null then 'no_address|' else '' end",
        "case when " ~ undeliverable ~ " then 'undeliverable|' else '' end",
        "case when " ~ channel ~ "_consent_status <> 'consented' then "
            ~ channel ~ "_consent_status || '|' else '' end",
        "case when is_never_active then 'never_active|' when is_inactive then 'inactive|' else '' end",
    ] %}
    {%- do exclusion_reasons.update({
        channel: "nullif(" ~ clientbase.regexp_replace_all(dbt.concat(parts), '[|]$', '') ~ ", '')"
    }) %}
{%- endfor %}

with

customers as (
    select * from {{ ref('dim_customers') }}
),

time_zones as (
    select * from {{ ref('int_customer_time_zones_inferred') }}
),

activity as (
    select * from {{ ref('int_customer_activity_summarised') }}
),

consents as (
    select * from {{ ref('int_customer_consents_latest') }}
),

contact_points as (
    select * from {{ ref('int_contact_points_assessed') }}
),

contact_point_checks as (
    select * from {{ ref('stg_hygiene__contact_point_checks') }}
),

-- library verdicts per e-mail as identity keys it (Gmail spellings with and without dots are
-- one mailbox, and dim_customers' e-mail is that key): invalid only if no spelling is valid
email_checks as (
    select
        {{ clientbase.identity_email_key('contact_point_value') }} as email_key,
        max(case when is_valid then 1 else 0 end) = 1 as is_valid,
        max(case when is_role then 1 else 0 end) = 1 as is_role,
        max(case when is_disposable then 1 else 0 end) = 1 as is_disposable
    from contact_point_checks
    where contact_point_type = 'email'
    group by {{ clientbase.identity_email_key('contact_point_value') }}
),

send_hours as (
    select * from {{ ref('int_customer_send_hours') }}
),

source_records as (
    select * from {{ ref('int_source_records_resolved') }}
),

identifiers as (
    select * from {{ ref('int_identifiers_resolved') }}
),

bounds as (
    select {{ clientbase.as_of_date() }} as as_of_date
),

crm_contacts as (
    select
        customer_id,
        count(*) as crm_contact_count,
        {{ dbt.listagg('record_id', "'|'", 'order by record_id') }} as crm_contact_ids
    from source_records
    where record_type = 'crm_contact' and customer_id is not null
    group by customer_id
),

telegram_ids as (
    select
        customer_id,
        identifier_value as telegram_id,
        row_number() over (
            partition by customer_id order by last_seen_at desc, identifier_value asc
        ) as recency_rank
    from identifiers
    where identifier_type = 'telegram_id' and customer_id is not null and not is_excluded
),

addresses as (
    select
        customers.customer_id,
        customers.email,
        customers.phone,
        telegram_ids.telegram_id
    from customers
    left join telegram_ids
        on customers.customer_id = telegram_ids.customer_id and telegram_ids.recency_rank = 1
),

consents_wide as (
    select
        customer_id,
        max(case when channel = 'email' then consent_status end) as email_consent_status,
        max(case when channel = 'email' then consent_status_at end) as email_consent_status_at,
        max(case when channel = 'sms' then consent_status end) as sms_consent_status,
        max(case when channel = 'sms' then consent_status_at end) as sms_consent_status_at,
        max(case when channel = 'whatsapp' then consent_status end) as whatsapp_consent_status,
        max(case when channel = 'whatsapp' then consent_status_at end) as whatsapp_consent_status_at,
        max(case when channel = 'telegram' then consent_status end) as telegram_consent_status,
        max(case when channel = 'telegram' then consent_status_at end) as telegram_consent_status_at
    from consents
    group by customer_id
),

assessed as (
    select
        addresses.customer_id,
        addresses.email,
        addresses.phone,
        addresses.telegram_id,
        email_checks.is_valid as is_email_valid,
        coalesce(email_checks.is_role, false) as is_email_role,
        coalesce(email_checks.is_disposable, false) as is_email_disposable,
        phone_checks.is_valid as is_phone_valid,
        phone_checks.phone_country_code,
        coalesce(email_points.is_hard_bounced, false) as is_email_hard_bounced,
        coalesce(email_points.is_soft_bouncing, false) as is_email_soft_bouncing,
        coalesce(email_points.soft_bounces_since_delivery, 0) as email_soft_bounces_since_delivery,
        {%- for channel in ['sms', 'whatsapp', 'telegram'] %}
            coalesce({{ channel }}_points.is_hard_bounced, false) as is_{{ channel }}_hard_bounced,
            coalesce({{ channel }}_points.is_soft_bouncing, false) as is_{{ channel }}_soft_bouncing,
        {%- endfor %}
        email_points.last_hard_bounced_at as email_last_hard_bounced_at
    from addresses
    left join email_checks on addresses.email = email_checks.email_key
    left join contact_point_checks as phone_checks
        on phone_checks.contact_point_type = 'phone' and addresses.phone = phone_checks.contact_point_value
    left join contact_points as email_points
        on email_points.channel = 'email' and addresses.email = email_points.identifier_value
    left join contact_points as sms_points
        on sms_points.channel = 'sms' and addresses.phone = sms_points.identifier_value
    left join contact_points as whatsapp_points
        on whatsapp_points.channel = 'whatsapp' and addresses.phone = whatsapp_points.identifier_value
    left join contact_points as telegram_points
        on telegram_points.channel = 'telegram' and addresses.telegram_id = telegram_points.identifier_value
),

flagged as (
    select
        customers.customer_id,
        bounds.as_of_date,
        -- time zone
        time_zones.profile_time_zone,
        time_zones.inferred_time_zone,
        time_zones.current_time_zone,
        time_zones.current_time_zone_source,
        time_zones.confidence as time_zone_confidence,
        coalesce(time_zones.inferred_evidence_days, 0) as time_zone_evidence_days,
        coalesce(time_zones.is_time_zone_stale, false) as is_time_zone_stale,
        time_zones.stale_time_zone_reason,
        -- activity
        activity.last_activity_at,
        activity.first_collected_at,
        coalesce(
            activity.last_activity_date is null
            or activity.last_activity_date < {{ dbt.dateadd('day', -inactive_days, 'bounds.as_of_date') }},
            true
        ) as is_inactive,
        coalesce(
            activity.last_activity_at is null
            and cast(activity.first_collected_at as date) <= {{ never_active_cutoff }},
            false
        ) as is_never_active,
        -- email
        assessed.email,
        assessed.is_email_valid,
        assessed.is_email_role,
        assessed.is_email_disposable,
        assessed.is_email_hard_bounced,
        assessed.is_email_soft_bouncing,
        assessed.email_soft_bounces_since_delivery,
        -- phone
        assessed.phone,
        assessed.is_phone_valid,
        -- a phone only the identity layer kept (a messaging address staging's normaliser refuses,
        -- e.g. a placeholder): no library check exists for it, and it is not a number to text
        coalesce(
            assessed.phone is not null and {{ clientbase.normalise_phone('assessed.phone') }} is null,
            false
        ) as is_phone_unreadable,
        assessed.phone_country_code,
        assessed.is_sms_hard_bounced,
        assessed.is_sms_soft_bouncing,
        assessed.is_whatsapp_hard_bounced,
        assessed.is_whatsapp_soft_bouncing,
        assessed.telegram_id,
        assessed.is_telegram_hard_bounced,
        assessed.is_telegram_soft_bouncing,
        -- consent
        {%- for channel in channels %}
            coalesce(consents_wide.{{ channel }}_consent_status, 'no_consent') as {{ channel }}_consent_status,
            consents_wide.{{ channel }}_consent_status_at,
        {%- endfor %}
        -- duplicates
        coalesce(crm_contacts.crm_contact_count, 0) as crm_contact_count,
        crm_contacts.crm_contact_ids,
        -- send hour
        coalesce(send_hours.best_send_hour_local, {{ default_hour }}) as best_send_hour_local,
        coalesce(send_hours.send_hour_source, 'default') as send_hour_source,
        coalesce(send_hours.send_hour_event_count, 0) as send_hour_event_count
    from customers
    cross join bounds
    left join time_zones on customers.customer_id = time_zones.customer_id
    left join activity on customers.customer_id = activity.customer_id
    left join assessed on customers.customer_id = assessed.customer_id
    left join consents_wide on customers.customer_id = consents_wide.customer_id
    left join crm_contacts on customers.customer_id = crm_contacts.customer_id
    left join send_hours on customers.customer_id = send_hours.customer_id
),

reasons as (
    select
        *,
        email is not null
        and (
            coalesce(not is_email_valid, false) or is_email_hard_bounced or is_email_soft_bouncing
            or is_email_role or is_email_disposable
        ) as is_email_undeliverable,
        nullif({{ clientbase.regexp_replace_all(dbt.concat([
            "case when is_email_valid = false then 'invalid_syntax|' else '' end",
            "case when is_email_hard_bounced then 'hard_bounce|' else '' end",
            "case when is_email_soft_bouncing then 'repeated_soft_bounces|' else '' end",
            "case when is_email_role then 'role_address|' else '' end",
            "case when is_email_disposable then 'disposable_domain|' else '' end"
        ]), '[|]$', '') }}, '') as email_undeliverable_reasons,
        coalesce(not is_phone_valid, false) or is_phone_unreadable as is_phone_invalid,
        crm_contact_count > 1 as is_duplicate,
        case
            when is_never_active
                then {{ dbt.concat(["'never active: collected '", collected_day, "', no activity since'"]) }}
            when is_inactive
                then {{ dbt.concat(["'no activity since '", "coalesce(" ~ last_active_day ~ ", 'ever')"]) }}
        end as inactive_reason
    from flagged
),

sendability as (
    select
        *,
        {{ exclusion_reasons['email'] }} as email_exclusion_reasons,
        {{ exclusion_reasons['sms'] }} as sms_exclusion_reasons,
        {{ exclusion_reasons['whatsapp'] }} as whatsapp_exclusion_reasons,
        {{ exclusion_reasons['telegram'] }} as telegram_exclusion_reasons
    from reasons
),

final as (
    select
        customer_id,
        as_of_date,
        profile_time_zone,
        inferred_time_zone,
        current_time_zone,
        current_time_zone_source,
        cast(time_zone_confidence as {{ dbt.type_float() }}) as time_zone_confidence,
        cast(time_zone_evidence_days as {{ dbt.type_bigint() }}) as time_zone_evidence_days,
        is_time_zone_stale,
        stale_time_zone_reason,
        last_activity_at,
        first_collected_at,
        is_inactive,
        is_never_active,
        inactive_reason,
        email,
        is_email_valid,
        is_email_role,
        is_email_disposable,
        is_email_hard_bounced,
        is_email_soft_bouncing,
        cast(email_soft_bounces_since_delivery as {{ dbt.type_bigint() }}) as email_soft_bounces_since_delivery,
        is_email_undeliverable,
        email_undeliverable_reasons,
        phone,
        is_phone_valid,
        phone_country_code,
        is_phone_invalid,
        is_sms_hard_bounced,
        is_sms_soft_bouncing,
        is_whatsapp_hard_bounced,
        is_whatsapp_soft_bouncing,
        telegram_id,
        is_telegram_hard_bounced,
        is_telegram_soft_bouncing,
        {%- for channel in channels %}
            {{ channel }}_consent_status,
            {{ channel }}_consent_status_at,
        {%- endfor %}
        cast(crm_contact_count as {{ dbt.type_bigint() }}) as crm_contact_count,
        is_duplicate,
        case when is_duplicate then crm_contact_ids end as duplicate_crm_contact_ids,
        {%- for channel in channels %}
            {{ channel }}_exclusion_reasons is null as is_sendable_{{ channel }},
            {{ channel }}_exclusion_reasons,
        {%- endfor %}
        cast(best_send_hour_local as {{ dbt.type_int() }}) as best_send_hour_local,
        send_hour_source,
        cast(send_hour_event_count as {{ dbt.type_bigint() }}) as send_hour_event_count
    from sendability
)

select * from final
