{{
    config(
        materialized=clientbase.upsert_materialization(),
        unique_key='order_line_id',
        incremental_strategy=clientbase.upsert_strategy(),
        on_schema_change='fail',
    )
}}

-- One row per shop order line and POS receipt line, carrying its order's customer, time and
-- status. Re-processes the lines of orders changed in the window, new lines, and lines whose
-- order's customer changed since they were written. A line whose order is unknown (its order
-- row was quarantined upstream) is kept with null order attributes.

with

lines as (
    select * from {{ ref('int_order_lines_unioned') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

{% if is_incremental() %}
    existing as (
        select
            order_line_id,
            customer_id
        from {{ this }}
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
),

selected as (
    select joined.*
    from joined
    {% if is_incremental() %}
        left join existing
            on joined.order_line_id = existing.order_line_id
        where
            ({{ sales_window_predicate('joined.source_updated_at', this) }})
            or existing.order_line_id is null
            or joined.customer_id is distinct from existing.customer_id
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
        source_updated_at
    from selected
)

select * from final
