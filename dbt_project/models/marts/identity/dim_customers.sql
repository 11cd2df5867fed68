-- The golden record: one row per resolved customer. Each attribute is picked from all the
-- customer's source records by a documented survivorship rule, and for e-mail, phone and name
-- the winning source system and rule are kept next to the value:
--   email / phone: usable (valid and not excluded as junk/hub) > deliverable (not hard-bounced,
--       not unsubscribed) > source priority (crm, loyalty, shop, pos, surveys, web, messaging)
--       > most recently seen > value. Rule values: `usable_deliverable`, `usable_undeliverable`,
--       `excluded_only` (the only candidates are excluded values attached to this customer).
--   name: source priority (crm, loyalty, shop, surveys) > most recent record > longest.
--       Loyalty holder names and survey names are one field: the first word is taken as the
--       first name, the rest as the last name. Rule value: `source_priority_then_recency`.
--   birth date: crm > survey (only dates the survey parsed unambiguously), most recent first.
--   gender, city, country, time zone: the most recently updated CRM contact that has one.
--   consent: email from the chosen e-mail's contact point, sms/whatsapp from the chosen
--       phone's, telegram from the customer's most recently consented telegram id (dim_contacts).
--
-- Kept by customer (macros/identity/dimensions_incremental.sql): a night deletes the rows of
-- the customers whose identifiers, records or contact points changed since the newest stamp the
-- table holds, and of those that lost an identifier or a record, and computes here every
-- customer that has no row.

{{ clientbase.dimension_config('dim_customers_stale_rows') }}

with

{% if is_incremental() %}
    customers_to_compute as (
        select distinct identifiers.customer_id
        from {{ ref('int_identifiers_resolved') }} as identifiers
        where
            identifiers.customer_id is not null
            and {{ clientbase.dimension_key_missing('identifiers', ['customer_id']) }}
    ),
{% endif %}

resolved_identifiers as (
    select * from {{ ref('int_identifiers_resolved') }} as identifiers
    where {{ clientbase.dimension_key_listed('customers_to_compute', 'identifiers', ['customer_id']) }}
),

records as (
    select * from {{ ref('int_source_records_resolved') }} as records
    where
        customer_id is not null
        and {{ clientbase.dimension_key_listed('customers_to_compute', 'records', ['customer_id']) }}
),

observations as (
    select * from {{ ref('int_identifiers_unioned') }}
),

contact_points as (
    select * from {{ ref('dim_contacts') }} as contact_points
    where {{ clientbase.dimension_key_listed('customers_to_compute', 'contact_points', ['customer_id']) }}
),

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

orders as (
    select * from {{ ref('stg_shop__orders') }}
),

cards as (
    select * from {{ ref('stg_loyalty__cards') }}
),

survey_responses as (
    select * from {{ ref('stg_surveys__responses') }}
),

customers as (
    select
        customer_id,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        count(*) as identifier_count,
        sum(case when is_excluded then 1 else 0 end) as excluded_identifier_count,
        max(anchor_identifier) as anchor_identifier
    from resolved_identifiers
    where customer_id is not null
    group by customer_id
),

record_counts as (
    select
        customer_id,
        count(*) as record_count,
        -- the systems the records come from, as the sum of one flag per system: a distinct
        -- count per customer cost a second grouping of all 10M records (size L: 1 s of 16)
        {% for system in clientbase.identity_source_systems() -%}
            max(case when source_system = '{{ system }}' then 1 else 0 end)
            {%- if not loop.last %} +{% endif %}
        {% endfor -%}
            as source_count
    from records
    group by customer_id
),

-- e-mail and phone candidates: each (identifier, source system) the customer was seen with
contact_candidates as (
    select
        contact_points.customer_id,
        contact_points.identifier_type,
        contact_points.identifier_value,
        observations.source_system,
        max(observations.last_observed_at) as last_observed_at,
        max(case when contact_points.is_valid and not contact_points.is_excluded then 1 else 0 end) as is_usable,
        max(case when contact_points.deliverability_status in ('hard_bounced', 'unsubscribed') then 0 else 1 end)
            as is_deliverable
    from contact_points
    inner join observations
        on
            contact_points.identifier_type = observations.identifier_type
            and contact_points.identifier_value = observations.identifier_value
    where
        contact_points.customer_id is not null
        and contact_points.identifier_type in ('email', 'phone')
    group by
        contact_points.customer_id,
        contact_points.identifier_type,
        contact_points.identifier_value,
        observations.source_system
),

best_contacts as (
    select
        customer_id,
        identifier_type,
        identifier_value,
        source_system,
        case
            when is_usable = 1 and is_deliverable = 1 then 'usable_deliverable'
            when is_usable = 1 then 'usable_undeliverable'
            else 'excluded_only'
        end as survivorship_rule
    from (
        select
            *,
            row_number() over (
                partition by customer_id, identifier_type
                order by
                    is_usable desc,
                    is_deliverable desc,
                    {{ clientbase.identity_source_rank('source_system') }} asc,
                    last_observed_at desc,
                    identifier_value asc
            ) as pick
        from contact_candidates
    ) as ranked
    where pick = 1
),

name_candidates as (
    select
        records.customer_id,
        'crm' as source_system,
        contacts.first_name,
        contacts.last_name,
        contacts.updated_at as observed_at
    from records
    inner join contacts
        on records.record_type = 'crm_contact' and records.record_id = contacts.contact_id
    where contacts.first_name is not null or contacts.last_name is not null
    union all
    select
        records.customer_id,
        'loyalty' as source_system,
        {{ dbt.split_part('cards.holder_name', "' '", 1) }} as first_name,
        nullif(trim(substring(cards.holder_name, length({{ dbt.split_part('cards.holder_name', "' '", 1) }}) + 1)), '')
            as last_name,
        cards.updated_at as observed_at
    from records
    inner join cards
        on records.record_type = 'loyalty_card' and records.record_id = cards.card_number
    where cards.holder_name is not null
    union all
    select
        records.customer_id,
        'shop' as source_system,
        orders.first_name,
        orders.last_name,
        orders.updated_at as observed_at
    from records
    inner join orders
        on records.record_type = 'shop_order' and records.record_id = orders.order_id
    where orders.first_name is not null or orders.last_name is not null
    union all
    select
        records.customer_id,
        'surveys' as source_system,
        {{ dbt.split_part('survey_responses.full_name', "' '", 1) }} as first_name,
        nullif(
            trim(substring(
                survey_responses.full_name,
                length({{ dbt.split_part('survey_responses.full_name', "' '", 1) }}) + 1
            )), ''
        ) as last_name,
        survey_responses.submitted_at as observed_at
    from records
    inner join survey_responses
        on records.record_type = 'survey_response' and records.record_id = survey_responses.response_id
    where survey_responses.full_name is not null
),

best_names as (
    select
        customer_id,
        first_name,
        last_name,
        source_system
    from (
        select
            *,
            row_number() over (
                partition by customer_id
                order by
                    {{ clientbase.identity_source_rank('source_system') }} asc,
                    observed_at desc,
                    length({{ dbt.concat(["coalesce(first_name, '')", "coalesce(last_name, '')"]) }}) desc,
                    first_name asc,
                    last_name asc
            ) as pick
        from name_candidates
    ) as ranked
    where pick = 1
),

crm_profiles as (
    select
        records.customer_id,
        contacts.birth_date,
        contacts.gender,
        contacts.city,
        contacts.country_code,
        contacts.time_zone,
        contacts.updated_at
    from records
    inner join contacts
        on records.record_type = 'crm_contact' and records.record_id = contacts.contact_id
),

{%- for attribute in ['gender', 'city', 'country_code', 'time_zone'] %}

    best_{{ attribute }} as (
        select
            customer_id,
            {{ attribute }}
        from (
            select
                customer_id,
                {{ attribute }},
                row_number() over (partition by customer_id order by updated_at desc, {{ attribute }} asc) as pick
            from crm_profiles
            where {{ attribute }} is not null
        ) as ranked
        where pick = 1
    ),
{%- endfor %}

birth_date_candidates as (
    select
        customer_id,
        birth_date,
        1 as source_rank,
        updated_at as observed_at
    from crm_profiles
    where birth_date is not null
    union all
    select
        records.customer_id,
        survey_responses.birth_date,
        2 as source_rank,
        survey_responses.submitted_at as observed_at
    from records
    inner join survey_responses
        on records.record_type = 'survey_response' and records.record_id = survey_responses.response_id
    where survey_responses.birth_date is not null
),

best_birth_dates as (
    select
        customer_id,
        birth_date
    from (
        select
            *,
            row_number() over (partition by customer_id order by source_rank asc, observed_at desc) as pick
        from birth_date_candidates
    ) as ranked
    where pick = 1
),

best_telegram_consents as (
    select
        customer_id,
        has_telegram_consent,
        telegram_consent_at
    from (
        select
            customer_id,
            has_telegram_consent,
            telegram_consent_at,
            row_number() over (partition by customer_id order by telegram_consent_at desc) as pick
        from contact_points
        where identifier_type = 'telegram_id' and customer_id is not null and has_telegram_consent is not null
    ) as ranked
    where pick = 1
),

final as (
    select
        customers.customer_id,
        best_names.first_name,
        best_names.last_name,
        best_names.source_system as name_source,
        case when best_names.customer_id is not null then 'source_priority_then_recency' end as name_rule,
        best_email.identifier_value as email,
        best_email.source_system as email_source,
        best_email.survivorship_rule as email_rule,
        best_phone.identifier_value as phone,
        best_phone.source_system as phone_source,
        best_phone.survivorship_rule as phone_rule,
        best_birth_dates.birth_date,
        best_gender.gender,
        best_city.city,
        best_country_code.country_code,
        best_time_zone.time_zone,
        email_point.has_email_consent,
        email_point.email_consent_at,
        phone_point.has_sms_consent,
        phone_point.sms_consent_at,
        phone_point.has_whatsapp_consent,
        phone_point.whatsapp_consent_at,
        best_telegram_consents.has_telegram_consent,
        best_telegram_consents.telegram_consent_at,
        customers.first_seen_at,
        customers.last_seen_at,
        cast(coalesce(record_counts.source_count, 0) as {{ dbt.type_bigint() }}) as source_count,
        cast(coalesce(record_counts.record_count, 0) as {{ dbt.type_bigint() }}) as record_count,
        cast(customers.identifier_count as {{ dbt.type_bigint() }}) as identifier_count,
        cast(customers.excluded_identifier_count as {{ dbt.type_bigint() }}) as excluded_identifier_count,
        customers.anchor_identifier,
        {{ clientbase.staged_at() }} as _staged_at
    from customers
    left join record_counts
        on customers.customer_id = record_counts.customer_id
    left join best_names
        on customers.customer_id = best_names.customer_id
    left join best_contacts as best_email
        on customers.customer_id = best_email.customer_id and best_email.identifier_type = 'email'
    left join best_contacts as best_phone
        on customers.customer_id = best_phone.customer_id and best_phone.identifier_type = 'phone'
    left join contact_points as email_point
        on
            best_email.identifier_type = email_point.identifier_type
            and best_email.identifier_value = email_point.identifier_value
    left join contact_points as phone_point
        on
            best_phone.identifier_type = phone_point.identifier_type
            and best_phone.identifier_value = phone_point.identifier_value
    left join best_birth_dates
        on customers.customer_id = best_birth_dates.customer_id
    {%- for attribute in ['gender', 'city', 'country_code', 'time_zone'] %}
        left join best_{{ attribute }}
            on customers.customer_id = best_{{ attribute }}.customer_id
    {%- endfor %}
    left join best_telegram_consents
        on customers.customer_id = best_telegram_consents.customer_id
)

select
    customer_id,
    first_name,
    last_name,
    name_source,
    name_rule,
    email,
    email_source,
    email_rule,
    phone,
    phone_source,
    phone_rule,
    birth_date,
    gender,
    city,
    country_code,
    time_zone,
    has_email_consent,
    email_consent_at,
    has_sms_consent,
    sms_consent_at,
    has_whatsapp_consent,
    whatsapp_consent_at,
    has_telegram_consent,
    telegram_consent_at,
    first_seen_at,
    last_seen_at,
    source_count,
    record_count,
    identifier_count,
    excluded_identifier_count,
    anchor_identifier,
    _staged_at
from final
