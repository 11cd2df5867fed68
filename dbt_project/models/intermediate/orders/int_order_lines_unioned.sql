{{ clientbase.upsert_config(unique_key='order_line_id', run_stamped=true) }}

-- Shop order lines and POS receipt lines in one grain, keyed like int_orders_unioned, with the
-- product's categories (the interest tags customer_traits derives from what people bought).
-- Upserted by line: a night reads only the lines staged since the newest stamp it holds (a line
-- depends on its own staging row and its product). A corrected products reference file needs
-- `--full-refresh` of this model and fct_order_lines (no stamp announces it), as a re-extracted
-- day with fewer lines does for every daily staging model.

{%- set since = clientbase.held_staged_since('sales_staged_since') %}

with

shop_lines as (
    select * from {{ ref('stg_shop__order_lines') }}
    where {{ clientbase.newer_than('_staged_at', since) }}
),

pos_lines as (
    select * from {{ ref('stg_pos__receipt_lines') }}
    where {{ clientbase.newer_than('_staged_at', since) }}
),

products as (
    select * from {{ ref('stg_reference__products') }}
),

unioned as (
    select
        {{ dbt.concat(["'shop-'", 'order_line_id']) }} as order_line_id,
        {{ dbt.concat(["'shop-'", 'order_id']) }} as order_id,
        'shop' as source_system,
        order_line_id as source_order_line_id,
        product_id,
        quantity,
        unit_price,
        discount_amount,
        line_amount
    from shop_lines
    union all
    select
        {{ dbt.concat(["'pos-'", 'receipt_line_id']) }} as order_line_id,
        {{ dbt.concat(["'pos-'", 'receipt_id']) }} as order_id,
        'pos' as source_system,
        receipt_line_id as source_order_line_id,
        product_id,
        quantity,
        unit_price,
        discount_amount,
        line_amount
    from pos_lines
),

final as (
    select
        unioned.order_line_id,
        unioned.order_id,
        unioned.source_system,
        unioned.source_order_line_id,
        unioned.product_id,
        products.category_l1,
        products.category_l2,
        products.category_l3,
        products.brand,
        cast(unioned.quantity as decimal(18, 3)) as quantity,
        cast(unioned.unit_price as decimal(18, 2)) as unit_price,
        cast(coalesce(unioned.discount_amount, 0) as decimal(18, 2)) as discount_amount,
        cast(unioned.line_amount as decimal(18, 2)) as line_amount,
        -- the run that wrote the row: what fct_order_lines compares with
        {{ clientbase.staged_at() }} as _staged_at
    from unioned
    left join products
        on unioned.product_id = products.product_id
)

select * from final
