-- One row per customer who has placed an order: order counts and revenue, first/last
-- purchase, rhythm, interests from what they bought, how they were acquired, where they buy,
-- how much they rely on promo codes, and the VIP flag.
--
-- VIP rule: at least 2 purchase days in the 365 days before the as-of date and net revenue in
-- those 365 days in the top 5% (percent_rank < 0.05) of the customers who bought in them.
-- Discount seeker: at least 2 purchases and a promo code on at least half of them.

with

orders as (
    select * from {{ ref('fct_orders') }}
    where customer_id is not null
),

order_lines as (
    select * from {{ ref('fct_order_lines') }}
    where customer_id is not null
),

resolved_records as (
    select * from {{ ref('int_source_records_resolved') }}
    where record_type = 'crm_contact'
),

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

orders_in_window as (
    select
        *,
        coalesce(
            ordered_date >= cast({{ dbt.dateadd('day', -365, as_of_date()) }} as date)
            and ordered_date < {{ as_of_date() }},
            false
        ) as is_last_365
    from orders
),

order_stats as (
    select
        customer_id,
        count(*) as orders,
        sum(case when is_purchase then 1 else 0 end) as purchase_orders,
        sum(case when is_cancelled then 1 else 0 end) as cancelled_orders,
        sum(case when order_status in ('returned', 'partially_returned') then 1 else 0 end)
            as returned_orders,
        count(distinct case when is_purchase then ordered_date end) as purchase_days,
        sum(net_amount) as revenue,
        sum(case when is_purchase and promo_code is not null then 1 else 0 end)
            as promo_purchase_orders,
        min(case when is_purchase then ordered_at end) as first_purchase_at,
        max(case when is_purchase then ordered_at end) as last_purchase_at,
        -- the 365 days before the as-of date, in the same pass over the orders
        count(distinct case when is_purchase and is_last_365 then ordered_date end)
            as purchase_days_365,
        sum(case when is_last_365 then net_amount end) as revenue_365
    from orders_in_window
    group by customer_id
),

recent_ranked as (
    select
        customer_id,
        purchase_days_365,
        revenue_365,
        percent_rank() over (order by revenue_365 desc) as revenue_365_percent_rank
    from order_stats
    where purchase_days_365 > 0
),

first_purchase as (
    select
        customer_id,
        sales_channel as acquisition_channel,
        row_number() over (partition by customer_id order by ordered_at, order_id) as position
    from orders
    where is_purchase
),

channel_counts as (
    select
        customer_id,
        sales_channel,
        count(*) as purchases,
        row_number() over (
            partition by customer_id order by count(*) desc, max(ordered_at) desc, sales_channel
        ) as position
    from orders
    where is_purchase
    group by customer_id, sales_channel
),

-- one pass over the order lines (size L: 10.6M) per (customer, level 1, level 2); both levels'
-- spend roll up from it exactly (net_line_amount is a decimal)
category_pair_spend as (
    select
        customer_id,
        category_l1,
        category_l2,
        sum(net_line_amount) as spend
    from order_lines
    where net_line_amount > 0 and (category_l1 is not null or category_l2 is not null)
    group by customer_id, category_l1, category_l2
),

category_spend as (
    select
        customer_id,
        category_l1,
        sum(spend) as spend,
        row_number() over (
            partition by customer_id order by sum(spend) desc, category_l1
        ) as position
    from category_pair_spend
    where category_l1 is not null
    group by customer_id, category_l1
),

category_l2_spend as (
    select
        customer_id,
        category_l2,
        sum(spend) as spend,
        row_number() over (
            partition by customer_id order by sum(spend) desc, category_l2
        ) as position
    from category_pair_spend
    where category_l2 is not null
    group by customer_id, category_l2
),

interest_tags as (
    -- the three categories (level 2) they spent most on, as portable '|'-separated text; built
    -- by position rather than with listagg, whose order Spark ignores
    select
        customer_id,
        -- `||` is null when a side is null on both engines (unlike DuckDB's concat())
        max(case when position = 1 then category_l2 end)
        || coalesce('|' || max(case when position = 2 then category_l2 end), '')
        || coalesce('|' || max(case when position = 3 then category_l2 end), '') as tags
    from category_l2_spend
    where position <= 3
    group by customer_id
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
        order_stats.customer_id,
        cast(order_stats.orders as integer) as orders,
        cast(order_stats.purchase_orders as integer) as purchase_orders,
        cast(order_stats.cancelled_orders as integer) as cancelled_orders,
        cast(order_stats.returned_orders as integer) as returned_orders,
        cast(order_stats.purchase_days as integer) as purchase_days,
        cast(order_stats.revenue as decimal(18, 2)) as revenue,
        -- exact and equal on DuckDB and Spark (DuckDB alone would divide in double);
        -- null without purchases
        cast(
            {{ clientbase.decimal_divide('order_stats.revenue', 'order_stats.purchase_orders') }}
            as decimal(18, 2)
        ) as average_order_value,
        order_stats.first_purchase_at,
        order_stats.last_purchase_at,
        cast(
            case
                when order_stats.purchase_days > 1
                    then
                        1.0 * {{ dbt.datediff(
                            'cast(order_stats.first_purchase_at as date)',
                            'cast(order_stats.last_purchase_at as date)', 'day') }}
                        / (order_stats.purchase_days - 1)
            end as double
        ) as average_days_between_purchases,
        category_spend.category_l1 as favourite_category,
        interest_tags.tags as interest_tags,
        lead_sources.lead_source as acquisition_lead_source,
        first_purchase.acquisition_channel,
        channel_counts.sales_channel as preferred_channel,
        cast(
            case
                when order_stats.purchase_orders > 0
                    then 1.0 * order_stats.promo_purchase_orders / order_stats.purchase_orders
            end as double
        ) as promo_order_share,
        coalesce(
            order_stats.purchase_orders >= 2
            and order_stats.promo_purchase_orders * 2 >= order_stats.purchase_orders,
            false
        ) as is_discount_seeker,
        cast(coalesce(recent_ranked.revenue_365, 0) as decimal(18, 2)) as revenue_365_days,
        coalesce(
            recent_ranked.purchase_days_365 >= 2
            and recent_ranked.revenue_365_percent_rank < 0.05,
            false
        ) as is_vip
    from order_stats
    left join recent_ranked
        on order_stats.customer_id = recent_ranked.customer_id
    left join first_purchase
        on
            order_stats.customer_id = first_purchase.customer_id
            and first_purchase.position = 1
    left join channel_counts
        on
            order_stats.customer_id = channel_counts.customer_id
            and channel_counts.position = 1
    left join category_spend
        on
            order_stats.customer_id = category_spend.customer_id
            and category_spend.position = 1
    left join interest_tags
        on order_stats.customer_id = interest_tags.customer_id
    left join lead_sources
        on
            order_stats.customer_id = lead_sources.customer_id
            and lead_sources.position = 1
)

select * from final
