-- The time zone each customer's CRM profile claims: that of their most recently updated CRM
-- contact that has one. Customers without a CRM contact (guest buyers, anonymous loyalty cards)
-- have no profile time zone and so can never be "stale", only inferred.

with

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

source_records as (
    select * from {{ ref('int_source_records_resolved') }}
),

contact_time_zones as (
    select
        source_records.customer_id,
        contacts.contact_id,
        contacts.time_zone,
        contacts.country_code,
        contacts.updated_at,
        row_number() over (
            partition by source_records.customer_id
            order by contacts.updated_at desc, contacts.contact_id asc
        ) as recency_rank
    from contacts
    inner join source_records
        on
            source_records.record_type = 'crm_contact'
            and contacts.contact_id = source_records.record_id
    where
        source_records.customer_id is not null
        and contacts.time_zone is not null
),

final as (
    select
        customer_id,
        contact_id as profile_contact_id,
        time_zone as profile_time_zone,
        country_code as profile_country_code,
        updated_at as profile_updated_at
    from contact_time_zones
    where recency_rank = 1
)

select * from final
