-- One row per customer who has placed an order (any status): what their orders and order lines
-- say about them regardless of the as-of date - counts, revenue, first and last purchase, the
-- channel of the first purchase and the one they buy on most, the categories they spend most
-- on. customer_traits adds the as-of-dependent window, the VIP rank and the lead source.
--
-- Kept by customer (macros/sales/customer_orders_incremental.sql): a night deletes the rows of
-- the customers one of whose orders or lines was written since the newest stamp the table
-- holds, or whose order or line count changed, and computes here every customer without a row.
--
-- It reads the two order facts, the layer above, like int_rfm_snapshots_scored: an order
-- line's customer and its net amount are fct_order_lines' own logic (the line joined to its
-- order, returns and cancellations netted), which nothing below the marts holds. It is no mart
-- itself: customer_traits publishes its columns.

{{ clientbase.dimension_config('customer_orders_summarised_stale_rows') }}

with

{% if is_incremental() %}
    customers_to_compute as (
        select distinct orders.customer_id
        from {{ ref('fct_orders') }} as orders
        where
            orders.customer_id is not null
            and {{ clientbase.dimension_key_missing('orders', ['customer_id']) }}
    ),
{% endif %}

orders as (
    select * from {{ ref('fct_orders') }} as orders
    where
        customer_id is not null
        and {{ clientbase.dimension_key_listed('customers_to_compute', 'orders', ['customer_id']) }}
),

order_lines as (
    select * from {{ ref('fct_order_lines') }} as order_lines
    where
        customer_id is not null
        and {{ clientbase.dimension_key_listed('customers_to_compute', 'order_lines', ['customer_id']) }}
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
        max(case when is_purchase then ordered_at end) as last_purchase_at
    from orders
    group by customer_id
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

line_counts as (
    select
        customer_id,
        count(*) as order_line_count
    from order_lines
    group by customer_id
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

final as (
    select
        order_stats.customer_id,
        cast(order_stats.orders as integer) as orders,
        cast(order_stats.purchase_orders as integer) as purchase_orders,
        cast(order_stats.cancelled_orders as integer) as cancelled_orders,
        cast(order_stats.returned_orders as integer) as returned_orders,
        cast(order_stats.purchase_days as integer) as purchase_days,
        order_stats.revenue,
        cast(order_stats.promo_purchase_orders as integer) as promo_purchase_orders,
        order_stats.first_purchase_at,
        order_stats.last_purchase_at,
        first_purchase.acquisition_channel,
        channel_counts.sales_channel as preferred_channel,
        category_spend.category_l1 as favourite_category,
        interest_tags.tags as interest_tags,
        cast(coalesce(line_counts.order_line_count, 0) as integer) as order_line_count,
        {{ clientbase.staged_at() }} as _staged_at
    from order_stats
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
    left join line_counts
        on order_stats.customer_id = line_counts.customer_id
)

select * from final
