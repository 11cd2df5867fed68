-- Every source record with the customer it belongs to. Record keys follow the generator's
-- truth (`_truth/records.csv`): crm_contact, shop_order, pos_receipt, loyalty_card, web_cookie
-- (the cookie value), messaging_address (`<channel>:<address as exported>`), survey_response.
-- A record takes the customer of its linkable identifiers (the most person-specific one wins
-- if a steward's never_link split them); failing that, of an excluded identifier that belongs
-- to a single customer; a record with no usable identifier has a null customer_id.

with

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

orders as (
    select * from {{ ref('stg_shop__orders') }}
),

receipts as (
    select * from {{ ref('stg_pos__receipts') }}
),

cards as (
    select * from {{ ref('stg_loyalty__cards') }}
),

message_addresses as (
    select * from {{ ref('int_message_addresses_summarised') }}
),

survey_responses as (
    select * from {{ ref('stg_surveys__responses') }}
),

observations as (
    select * from {{ ref('int_identifiers_unioned') }}
),

resolved as (
    select * from {{ ref('int_identifiers_resolved') }}
),

all_records as (
    select
        'crm' as source_system,
        'crm_contact' as record_type,
        contact_id as record_id
    from contacts
    union all
    select
        'shop' as source_system,
        'shop_order' as record_type,
        order_id as record_id
    from orders
    union all
    select
        'pos' as source_system,
        'pos_receipt' as record_type,
        receipt_id as record_id
    from receipts
    union all
    select
        'loyalty' as source_system,
        'loyalty_card' as record_type,
        card_number as record_id
    from cards
    union all
    -- a cookie is its own identifier, so every web record has exactly one `cookie` observation
    -- (its value is the record id): the same set as the distinct cookies of the events, at a
    -- fraction of the cost (size L: 39M events)
    select
        'web' as source_system,
        'web_cookie' as record_type,
        record_id
    from observations
    where record_type = 'web_cookie' and identifier_type = 'cookie'
    union all
    select distinct
        'messaging' as source_system,
        'messaging_address' as record_type,
        {{ dbt.concat(["channel", "':'", "address_raw"]) }} as record_id
    from message_addresses
    where address_raw is not null
    union all
    select
        'surveys' as source_system,
        'survey_response' as record_type,
        response_id as record_id
    from survey_responses
),

-- each record's identifiers with their customers, in one window pass per record: the preferred
-- candidate (a resolved customer first, then graph before attribute resolution, then the most
-- person-specific identifier type, then the value), how many identifiers the record carries,
-- and whether its graph-resolved identifiers belong to more than one customer (only when a
-- steward's never_link split them; min <> max, as Spark has no distinct window functions).
-- One pass instead of a ranking, two groupings and three joins back (size L: 23M observations,
-- 47 -> 36 s CPU, same rows).
candidates as (
    select
        observations.record_type,
        observations.record_id,
        resolved.customer_id,
        resolved.identifier_type,
        row_number() over by_preference as candidate_rank,
        count(*) over by_record as identifier_count,
        min(case when resolved.resolution_method = 'graph' then resolved.customer_id end)
            over by_record
        <> max(case when resolved.resolution_method = 'graph' then resolved.customer_id end)
            over by_record as is_split_by_override
    from observations
    -- every observed identifier has its row in resolved (null customer when unresolved)
    left join resolved
        on
            observations.identifier_type = resolved.identifier_type
            and observations.identifier_value = resolved.identifier_value
    window
        by_record as (partition by observations.record_type, observations.record_id),
        by_preference as (
            partition by observations.record_type, observations.record_id
            order by
                case when resolved.customer_id is null then 1 else 0 end,
                case when resolved.resolution_method = 'graph' then 0 else 1 end,
                {{ clientbase.identity_type_rank('resolved.identifier_type') }},
                resolved.identifier_value
        )
),

chosen as (
    select * from candidates
    where candidate_rank = 1
),

final as (
    select
        {{ dbt.concat(["all_records.record_type", "':'", "all_records.record_id"]) }} as source_record_id,
        all_records.source_system,
        all_records.record_type,
        all_records.record_id,
        chosen.customer_id,
        case
            when chosen.customer_id is not null then chosen.identifier_type
        end as resolved_via_identifier_type,
        coalesce(chosen.identifier_count, 0) as identifier_count,
        coalesce(chosen.is_split_by_override, false) as is_split_by_override
    from all_records
    left join chosen
        on
            all_records.record_type = chosen.record_type
            and all_records.record_id = chosen.record_id
)

select * from final
