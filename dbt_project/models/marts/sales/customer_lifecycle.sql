-- Every known customer (prospects included) with a lifecycle stage as of the as-of date and
-- the CRM funnel stage.
--
-- lifecycle_stage, first rule that matches:
--   prospect  no purchase yet (a contact, or only cancelled orders)
--   lost      last purchase more than var lost_after_days (default 365) days ago
--   sleeping  missed their own repurchase cycle (see customer_rfm.is_sleeping)
--   regular   at least var regular_min_purchase_days (default 3) purchase days
--   returning 2 or more purchase days
--   one_time  one purchase day
-- funnel_stage:
--   customer      has bought
--   uninterested  said so (messaging `not_interested`, reactivation poll "not interested")
--                 and has not bought since
--   refuser       ordered, but every order was cancelled
--   in_selection  a prospect still worth working on: we hold an email or a phone
--   anonymous     a prospect we cannot reach (only cookies or other ids, no email/phone)

with

customers as (
    select
        customer_id,
        email,
        phone
    from {{ ref('dim_customers') }}
),

rfm as (
    select * from {{ ref('customer_rfm') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
    where
        customer_id is not null
        and ordered_date < {{ as_of_date() }}
),

identifiers as (
    select * from {{ ref('int_identifiers_resolved') }}
    where customer_id is not null
),

message_events as (
    select * from {{ ref('stg_messaging__events') }}
    where
        event_type = 'not_interested'
        and occurred_at < cast({{ as_of_date() }} as timestamp)
),

survey_responses as (
    select * from {{ ref('stg_surveys__responses') }}
    where
        is_not_interested
        and submitted_at < cast({{ as_of_date() }} as timestamp)
),

resolved_responses as (
    select * from {{ ref('int_source_records_resolved') }}
    where record_type = 'survey_response' and customer_id is not null
),

message_addresses as (
    -- one row per event and address reading, so that the join below is one equi-join (a join
    -- on `email = value or phone = value or ...` cannot be hashed and compares every event with
    -- every identifier: minutes at a million customers)
    select
        'email' as identifier_type,
        email as identifier_value,
        occurred_at
    from message_events
    union all
    select
        'phone' as identifier_type,
        phone as identifier_value,
        occurred_at
    from message_events
    union all
    select
        'telegram_id' as identifier_type,
        telegram_id as identifier_value,
        occurred_at
    from message_events
),

messaging_refusals as (
    select
        identifiers.customer_id,
        message_addresses.occurred_at as refused_at
    from message_addresses
    inner join identifiers
        on
            message_addresses.identifier_type = identifiers.identifier_type
            and message_addresses.identifier_value = identifiers.identifier_value
),

survey_refusals as (
    select
        resolved_responses.customer_id,
        survey_responses.submitted_at as refused_at
    from survey_responses
    inner join resolved_responses
        on survey_responses.response_id = resolved_responses.record_id
),

all_refusals as (
    select
        customer_id,
        refused_at
    from messaging_refusals
    union all
    select
        customer_id,
        refused_at
    from survey_refusals
),

refusals as (
    select
        customer_id,
        max(refused_at) as last_not_interested_at
    from all_refusals
    group by customer_id
),

order_summary as (
    select
        customer_id,
        count(*) as orders,
        sum(case when is_cancelled then 1 else 0 end) as cancelled_orders,
        max(case when is_purchase then ordered_at end) as last_purchase_at
    from orders
    group by customer_id
),

all_customers as (
    -- dim_customers should hold every buyer; the union keeps a buyer even if it does not
    select customer_id from customers
    union
    select customer_id from order_summary
),

reachable as (
    select customer_id
    from customers
    where email is not null or phone is not null
),

final as (
    select
        all_customers.customer_id,
        {{ as_of_date() }} as as_of_date,
        case
            when rfm.customer_id is null then 'prospect'
            when rfm.recency_days > {{ var('lost_after_days', 365) | int }} then 'lost'
            when rfm.is_sleeping then 'sleeping'
            when rfm.frequency >= {{ var('regular_min_purchase_days', 3) | int }} then 'regular'
            when rfm.frequency >= 2 then 'returning'
            else 'one_time'
        end as lifecycle_stage,
        case
            when
                refusals.customer_id is not null
                and (
                    order_summary.last_purchase_at is null
                    or order_summary.last_purchase_at < refusals.last_not_interested_at
                )
                then 'uninterested'
            when rfm.customer_id is not null then 'customer'
            when order_summary.orders > 0 and order_summary.orders = order_summary.cancelled_orders
                then 'refuser'
            when reachable.customer_id is not null then 'in_selection'
            else 'anonymous'
        end as funnel_stage,
        cast(coalesce(order_summary.orders, 0) as integer) as orders,
        cast(coalesce(order_summary.cancelled_orders, 0) as integer) as cancelled_orders,
        cast(coalesce(rfm.frequency, 0) as integer) as purchase_days,
        rfm.last_purchase_date,
        rfm.recency_days,
        rfm.repurchase_cycle_days,
        refusals.last_not_interested_at,
        rfm.segment as rfm_segment
    from all_customers
    left join rfm
        on all_customers.customer_id = rfm.customer_id
    left join order_summary
        on all_customers.customer_id = order_summary.customer_id
    left join refusals
        on all_customers.customer_id = refusals.customer_id
    left join reachable
        on all_customers.customer_id = reachable.customer_id
)

select * from final
