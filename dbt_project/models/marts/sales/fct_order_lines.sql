{{ clientbase.upsert_config(unique_key='order_line_id', run_stamped=true) }}

-- One row per shop order line and POS receipt line, carrying its order's customer, time and
-- status. A line is a function of its row in int_order_lines_unioned and its order's row in
-- fct_orders, so a run re-processes exactly the lines written there, or whose order was written
-- there, after the newest stamp this table holds: new and changed lines, lines of orders changed
-- in fct_orders' window, of new orders, and of orders whose customer the identity graph
-- re-attributed. A line whose order is unknown (its order row was quarantined upstream) is kept
-- with null order attributes, and follows its order when the order arrives.

{%- set since = clientbase.held_staged_since('sales_staged_since') %}

with

lines as (
    select * from {{ ref('int_order_lines_unioned') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

{% if since is not none %}
    orders_written as (
        select order_id from orders
        where {{ clientbase.newer_than('_staged_at', since) }}
    ),
{% endif %}

joined as (
    select
        lines.order_line_id,
        lines.order_id,
        lines.source_system,
        lines.source_order_line_id,
        orders.order_type,
        orders.customer_id,
        orders.sales_channel,
        orders.store_id,
        orders.order_status,
        orders.ordered_at,
        orders.ordered_date,
        lines.product_id,
        lines.category_l1,
        lines.category_l2,
        lines.category_l3,
        lines.brand,
        lines.quantity,
        lines.unit_price,
        lines.discount_amount,
        lines.line_amount,
        cast(
            case
                when orders.is_cancelled then 0
                when orders.source_system = 'shop' and orders.order_status = 'returned' then 0
                -- POS return receipts carry positive amounts: the sign makes them net out
                when orders.order_type = 'return' then -1 * lines.line_amount
                else lines.line_amount
            end as decimal(18, 2)
        ) as net_line_amount,
        coalesce(orders.source_updated_at, cast('1900-01-01' as timestamp)) as source_updated_at
    from lines
    left join orders
        on lines.order_id = orders.order_id
    {% if since is not none %}
        where
            {{ clientbase.newer_than('lines._staged_at', since) }}
            or exists (
                select 1
                from orders_written
                where orders_written.order_id = lines.order_id
            )
    {% endif %}
),

final as (
    select
        order_line_id,
        order_id,
        source_system,
        source_order_line_id,
        order_type,
        customer_id,
        sales_channel,
        store_id,
        order_status,
        ordered_at,
        ordered_date,
        product_id,
        category_l1,
        category_l2,
        category_l3,
        brand,
        quantity,
        unit_price,
        discount_amount,
        line_amount,
        net_line_amount,
        source_updated_at,
        -- the run that wrote the row
        {{ clientbase.staged_at() }} as _staged_at
    from joined
)

select * from final
