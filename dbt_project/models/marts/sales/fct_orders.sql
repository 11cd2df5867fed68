{{ clientbase.upsert_config(unique_key='order_id', run_stamped=true) }}

-- One row per shop order and per POS receipt. Incremental: a run re-processes the records
-- changed in the window (see sales_window_predicate), records new to the table, and records
-- whose customer the identity graph has since re-attributed (merges and splits), so the stored
-- customer_id never goes stale.

with

orders as (
    select * from {{ ref('int_orders_unioned') }}
),

{% if is_incremental() %}
    existing as (
        select
            order_id,
            customer_id
        from {{ this }}
    ),
{% endif %}

selected as (
    select orders.*
    from orders
    {% if is_incremental() %}
        left join existing
            on orders.order_id = existing.order_id
        where
            ({{ sales_window_predicate('orders.source_updated_at', this) }})
            or existing.order_id is null
            or orders.customer_id is distinct from existing.customer_id
    {% endif %}
),

final as (
    select
        order_id,
        source_system,
        source_order_id,
        order_type,
        customer_id,
        sales_channel,
        store_id,
        promo_code,
        order_status,
        payment_method,
        currency,
        original_order_id,
        ordered_at,
        ordered_at_local,
        order_time_zone,
        ordered_date,
        gross_amount,
        discount_amount,
        returned_amount,
        net_amount,
        is_cancelled,
        is_purchase,
        source_updated_at,
        -- the run that wrote the row: fct_order_lines re-processes the lines of orders written
        -- after its own newest stamp
        {{ clientbase.staged_at() }} as _staged_at
    from selected
)

select * from final
