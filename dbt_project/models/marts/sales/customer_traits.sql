-- One row per customer who has placed an order: order counts and revenue, first/last
-- purchase, rhythm, interests from what they bought, how they were acquired, where they buy,
-- how much they rely on promo codes, and the VIP flag.
--
-- VIP rule: at least 2 purchase days in the 365 days before the as-of date and net revenue in
-- those 365 days in the top 5% (percent_rank < 0.05) of the customers who bought in them.
-- Discount seeker: at least 2 purchases and a promo code on at least half of them.
--
-- What the orders say regardless of the as-of date comes from int_customer_orders_summarised,
-- kept by customer; this model adds the 365-day window before the as-of date (read from the
-- orders of that window only), the VIP rank among its buyers and the lead source.

with

order_summaries as (
    select * from {{ ref('int_customer_orders_summarised') }}
),

orders_in_window as (
    select * from {{ ref('fct_orders') }}
    where
        customer_id is not null
        and ordered_date >= cast({{ dbt.dateadd('day', -365, as_of_date()) }} as date)
        and ordered_date < {{ as_of_date() }}
),

resolved_records as (
    select * from {{ ref('int_source_records_resolved') }}
    where record_type = 'crm_contact'
),

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

window_stats as (
    select
        customer_id,
        count(distinct case when is_purchase then ordered_date end) as purchase_days_365,
        sum(net_amount) as revenue_365
    from orders_in_window
    group by customer_id
),

recent_ranked as (
    select
        customer_id,
        purchase_days_365,
        revenue_365,
        percent_rank() over (order by revenue_365 desc) as revenue_365_percent_rank
    from window_stats
    where purchase_days_365 > 0
),

lead_sources as (
    -- the lead source of the customer's earliest CRM contact is how we first met them
    select
        resolved_records.customer_id,
        contacts.lead_source,
        row_number() over (
            partition by resolved_records.customer_id
            order by contacts.created_at, contacts.contact_id
        ) as position
    from resolved_records
    inner join contacts
        on resolved_records.record_id = contacts.contact_id
    where resolved_records.customer_id is not null
),

final as (
    select
        order_summaries.customer_id,
        order_summaries.orders,
        order_summaries.purchase_orders,
        order_summaries.cancelled_orders,
        order_summaries.returned_orders,
        order_summaries.purchase_days,
        cast(order_summaries.revenue as decimal(18, 2)) as revenue,
        -- exact and equal on DuckDB and Spark (DuckDB alone would divide in double);
        -- null without purchases
        cast(
            {{ clientbase.decimal_divide('order_summaries.revenue', 'order_summaries.purchase_orders') }}
            as decimal(18, 2)
        ) as average_order_value,
        order_summaries.first_purchase_at,
        order_summaries.last_purchase_at,
        cast(
            case
                when order_summaries.purchase_days > 1
                    then
                        1.0 * {{ dbt.datediff(
                            'cast(order_summaries.first_purchase_at as date)',
                            'cast(order_summaries.last_purchase_at as date)', 'day') }}
                        / (order_summaries.purchase_days - 1)
            end as double
        ) as average_days_between_purchases,
        order_summaries.favourite_category,
        order_summaries.interest_tags,
        lead_sources.lead_source as acquisition_lead_source,
        order_summaries.acquisition_channel,
        order_summaries.preferred_channel,
        cast(
            case
                when order_summaries.purchase_orders > 0
                    then 1.0 * order_summaries.promo_purchase_orders / order_summaries.purchase_orders
            end as double
        ) as promo_order_share,
        coalesce(
            order_summaries.purchase_orders >= 2
            and order_summaries.promo_purchase_orders * 2 >= order_summaries.purchase_orders,
            false
        ) as is_discount_seeker,
        cast(coalesce(recent_ranked.revenue_365, 0) as decimal(18, 2)) as revenue_365_days,
        coalesce(
            recent_ranked.purchase_days_365 >= 2
            and recent_ranked.revenue_365_percent_rank < 0.05,
            false
        ) as is_vip
    from order_summaries
    left join recent_ranked
        on order_summaries.customer_id = recent_ranked.customer_id
    left join lead_sources
        on
            order_summaries.customer_id = lead_sources.customer_id
            and lead_sources.position = 1
)

select * from final
