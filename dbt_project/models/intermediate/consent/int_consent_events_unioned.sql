{{ clientbase.sync_config('consent_event_id', run_stamped=true) }}

-- Synchronised, not rewritten (macros/cross_db/incremental_sync.sql): every row is computed
-- as before and only the rows that differ from the stored ones are written, as
-- a night adds its own events; each written row carries the run's stamp (`_staged_at`).

-- Every consent-relevant event per resolved customer and channel, with its source record:
--   crm: the consent flag of each CRM contact of the customer, at its consent timestamp (else
--     the contact's last update) -> consent_given / consent_withdrawn;
--   messaging: every unsubscribed / not_interested event on one of the customer's addresses;
--   surveys: a reactivation-poll "not interested" answer (withdraws every channel).
-- Only events dated before the build's as-of date are seen, as in int_customer_consents_latest.

{%- set channels = ['email', 'sms', 'whatsapp', 'telegram'] %}

with

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

messaging_events as (
    select * from {{ ref('stg_messaging__events') }}
),

survey_responses as (
    select * from {{ ref('stg_surveys__responses') }}
),

source_records as (
    select * from {{ ref('int_source_records_resolved') }}
),

bounds as (
    select {{ clientbase.as_of_date() }} as as_of_date
),

crm_events as (
    {%- for channel in channels %}
        select
            source_records.customer_id,
            '{{ channel }}' as channel,
            case
                when contacts.has_consent_{{ channel }} then 'consent_given' else 'consent_withdrawn'
            end as change_kind,
            'crm' as change_source,
            {{ dbt.concat(["'crm_contact:'", "contacts.contact_id"]) }} as source_record_id,
            coalesce(contacts.consent_{{ channel }}_at, contacts.updated_at) as changed_at
        from contacts
        inner join source_records
            on source_records.record_type = 'crm_contact' and contacts.contact_id = source_records.record_id
        where source_records.customer_id is not null and contacts.has_consent_{{ channel }} is not null
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

messaging_changes as (
    select
        source_records.customer_id,
        messaging_events.channel,
        messaging_events.event_type as change_kind,
        'messaging' as change_source,
        {{ dbt.concat(["'messaging_event:'", "messaging_events.message_event_id"]) }} as source_record_id,
        messaging_events.occurred_at as changed_at
    from messaging_events
    inner join source_records
        on
            source_records.record_type = 'messaging_address'
            and source_records.record_id
            = {{ dbt.concat(["messaging_events.channel", "':'", "messaging_events.address_raw"]) }}
    where
        source_records.customer_id is not null
        and messaging_events.event_type in ('unsubscribed', 'not_interested')
),

survey_changes as (
    {%- for channel in channels %}
        select
            source_records.customer_id,
            '{{ channel }}' as channel,
            'not_interested' as change_kind,
            'surveys' as change_source,
            {{ dbt.concat(["'survey_response:'", "survey_responses.response_id"]) }} as source_record_id,
            survey_responses.submitted_at as changed_at
        from survey_responses
        inner join source_records
            on
                source_records.record_type = 'survey_response'
                and survey_responses.response_id = source_records.record_id
        where source_records.customer_id is not null and survey_responses.is_not_interested
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

unioned as (
    select * from crm_events
    union all
    select * from messaging_changes
    union all
    select * from survey_changes
),

final as (
    select
        {{ dbt.hash(dbt.concat([
            "unioned.customer_id", "'|'", "unioned.channel", "'|'", "unioned.source_record_id"
        ])) }} as consent_event_id,
        unioned.customer_id,
        unioned.channel,
        unioned.change_kind,
        unioned.change_source,
        unioned.source_record_id,
        unioned.changed_at,
        case when unioned.change_kind = 'consent_given' then 'granted' else 'withdrawn' end as consent_state,
        -- the run that wrote the row; a row unchanged since keeps its stamp (the comparison
        -- leaves it out), so int_customer_consents_latest recomputes the customers of these
        {{ clientbase.staged_at() }} as _staged_at
    from unioned
    cross join bounds
    where unioned.changed_at is not null and cast(unioned.changed_at as date) < bounds.as_of_date
)

select * from final
