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

candidates as (
    select
        observations.record_type,
        observations.record_id,
        resolved.customer_id,
        resolved.identifier_type,
        resolved.resolution_method,
        row_number() over (
            partition by observations.record_type, observations.record_id
            order by
                case when resolved.resolution_method = 'graph' then 0 else 1 end,
                {{ clientbase.identity_type_rank('resolved.identifier_type') }},
                resolved.identifier_value
        ) as candidate_rank
    from observations
    inner join resolved
        on
            observations.identifier_type = resolved.identifier_type
            and observations.identifier_value = resolved.identifier_value
    where resolved.customer_id is not null
),

chosen as (
    select * from candidates
    where candidate_rank = 1
),

-- how many customers the record's graph-resolved identifiers belong to (more than one only when a
-- steward's never_link split them), from the candidates joined once above; a grouped count, not
-- count(distinct) over a window: Spark has no distinct window functions
graph_customer_counts as (
    select
        record_type,
        record_id,
        count(distinct customer_id) as graph_customer_count
    from candidates
    where resolution_method = 'graph'
    group by record_type, record_id
),

observed_counts as (
    select
        record_type,
        record_id,
        count(*) as identifier_count
    from observations
    group by record_type, record_id
),

final as (
    select
        {{ dbt.concat(["all_records.record_type", "':'", "all_records.record_id"]) }} as source_record_id,
        all_records.source_system,
        all_records.record_type,
        all_records.record_id,
        chosen.customer_id,
        chosen.identifier_type as resolved_via_identifier_type,
        coalesce(observed_counts.identifier_count, 0) as identifier_count,
        coalesce(graph_customer_counts.graph_customer_count, 0) > 1 as is_split_by_override
    from all_records
    left join chosen
        on
            all_records.record_type = chosen.record_type
            and all_records.record_id = chosen.record_id
    left join observed_counts
        on
            all_records.record_type = observed_counts.record_type
            and all_records.record_id = observed_counts.record_id
    left join graph_customer_counts
        on
            all_records.record_type = graph_customer_counts.record_type
            and all_records.record_id = graph_customer_counts.record_id
)

select * from final
