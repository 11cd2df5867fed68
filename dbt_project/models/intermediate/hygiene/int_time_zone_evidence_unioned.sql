-- Where each customer has recently been, as time zones: one row per customer, evidence source,
-- time zone and day within the look-back window before the as-of date.
--   web:   IP time zone of the customer's tracked web events (via their cookies);
--   store: time zone of the store of each till receipt;
--   phone: the zone of a valid phone when phonenumbers gives exactly one (a Polish or Sri
--          Lankan number; a Russian mobile spans eleven zones and says nothing). A phone has no
--          date: it is dated the day before the as-of date and weighted separately.

{%- set window_days = clientbase.hygiene_setting('time_zone_window_days') | int %}

with

-- only the window's events, by constant bounds on the timestamp (macros/sales/as_of_date.sql):
-- the join below meets 4.6M events instead of all 39M (size L: 12 -> 7 s CPU, same rows)
web_events as (
    select * from {{ ref('stg_web__events') }}
    where
        occurred_at >= {{ clientbase.as_of_timestamp(window_days) }}
        and occurred_at < {{ clientbase.as_of_timestamp() }}
),

receipts as (
    select * from {{ ref('stg_pos__receipts') }}
),

stores as (
    select * from {{ ref('stg_reference__stores') }}
),

source_records as (
    select * from {{ ref('int_source_records_resolved') }}
),

identifiers as (
    select * from {{ ref('int_identifiers_resolved') }}
),

contact_point_checks as (
    select * from {{ ref('stg_hygiene__contact_point_checks') }}
),

bounds as (
    select
        {{ clientbase.as_of_date() }} as as_of_date,
        {{ dbt.dateadd('day', -window_days, clientbase.as_of_date()) }} as window_start_date
),

web_evidence as (
    select
        source_records.customer_id,
        'web' as evidence_source,
        web_events.ip_time_zone as time_zone,
        cast(web_events.occurred_at as date) as evidence_date,
        count(*) as observation_count
    from web_events
    inner join source_records
        on
            source_records.record_type = 'web_cookie'
            and web_events.anonymous_id = source_records.record_id
    where
        source_records.customer_id is not null
        and web_events.ip_time_zone is not null
    group by 1, 2, 3, 4
),

store_evidence as (
    select
        source_records.customer_id,
        'store' as evidence_source,
        stores.time_zone,
        cast(receipts.purchased_at_local as date) as evidence_date,
        count(*) as observation_count
    from receipts
    inner join stores on receipts.store_id = stores.store_id
    inner join source_records
        on
            source_records.record_type = 'pos_receipt'
            and receipts.receipt_id = source_records.record_id
    cross join bounds
    where
        source_records.customer_id is not null
        and stores.time_zone is not null
        and cast(receipts.purchased_at_local as date) >= bounds.window_start_date
        and cast(receipts.purchased_at_local as date) < bounds.as_of_date
    group by 1, 2, 3, 4
),

phone_evidence as (
    select
        identifiers.customer_id,
        'phone' as evidence_source,
        contact_point_checks.phone_time_zones as time_zone,
        {{ dbt.dateadd('day', -1, 'bounds.as_of_date') }} as evidence_date,
        count(*) as observation_count
    from identifiers
    inner join contact_point_checks
        on
            contact_point_checks.contact_point_type = 'phone'
            and identifiers.identifier_value = contact_point_checks.contact_point_value
    cross join bounds
    where
        identifiers.identifier_type = 'phone'
        and identifiers.customer_id is not null
        and not identifiers.is_excluded
        and contact_point_checks.is_valid
        and contact_point_checks.phone_time_zone_count = 1
    group by 1, 2, 3, 4
),

unioned as (
    select * from web_evidence
    union all
    select * from store_evidence
    union all
    select * from phone_evidence
),

final as (
    select
        {{ dbt.concat([
            "customer_id", "'|'", "evidence_source", "'|'", "time_zone", "'|'",
            "cast(evidence_date as " ~ dbt.type_string() ~ ")"
        ]) }} as evidence_id,
        customer_id,
        evidence_source,
        time_zone,
        cast(evidence_date as date) as evidence_date,
        observation_count
    from unioned
)

select * from final
