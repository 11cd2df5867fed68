-- Kept by order (macros/sales/orders_incremental.sql): a night deletes the rows whose order,
-- receipt, related return or sale, contact time zone, store time zone or resolved customer
-- changed since the newest stamp the table holds, and computes here every order without a row
-- (with the receipts it nets against).

{{ clientbase.dimension_config('orders_stale_rows') }}

-- Online shop orders and POS receipts in one grain (one row per source record), attributed to
-- the resolved customer, with UTC and local timestamps and with POS returns netted onto the
-- receipt they reverse. Cancelled orders stay (the funnel needs refusers) but earn nothing.

with

shop_orders as (
    select * from {{ ref('stg_shop__orders') }} as orders
    where {{ clientbase.order_key_missing('shop', 'orders', 'order_id') }}
),

all_pos_receipts as (
    select * from {{ ref('stg_pos__receipts') }}
),

stores as (
    select * from {{ ref('stg_reference__stores') }}
),

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

{% if is_incremental() %}
    -- the receipts without a held row, and those they net against: the sale a return
    -- references, the returns of a sale
    missing_receipts as (
        select
            receipt_id,
            receipt_type,
            original_receipt_id
        from all_pos_receipts
        where {{ clientbase.order_key_missing('pos', 'all_pos_receipts', 'receipt_id') }}
    ),

    pos_receipts as (
        select
            all_pos_receipts.*,
            all_pos_receipts.receipt_id in (select missing.receipt_id from missing_receipts as missing)
                as is_computed
        from all_pos_receipts
        where
            all_pos_receipts.receipt_id in (select missing.receipt_id from missing_receipts as missing)
            or all_pos_receipts.receipt_id in (
                select missing.original_receipt_id from missing_receipts as missing
                where missing.receipt_type = 'return'
            )
            or all_pos_receipts.original_receipt_id in (
                select missing.receipt_id from missing_receipts as missing
                where missing.receipt_type = 'sale'
            )
    ),
{% else %}
    pos_receipts as (
        select
            *,
            true as is_computed
        from all_pos_receipts
    ),
{% endif %}

resolved_records as (
    select * from {{ ref('int_source_records_resolved') }}
    where record_type in ('shop_order', 'pos_receipt')
),

shop_resolved as (
    select
        shop_orders.order_id as source_order_id,
        resolved_records.customer_id,
        shop_orders.ordered_at,
        shop_orders.updated_at,
        shop_orders.order_status,
        shop_orders.sales_channel,
        shop_orders.promo_code,
        shop_orders.currency,
        shop_orders.discount_amount,
        shop_orders.total_amount,
        -- the shop knows no place; the logged-in contact's own zone is the best local clock
        contacts.time_zone
    from shop_orders
    left join resolved_records
        on
            resolved_records.record_type = 'shop_order'
            and shop_orders.order_id = resolved_records.record_id
    left join contacts
        on shop_orders.user_id = contacts.contact_id
),

pos_located as (
    select
        pos_receipts.receipt_id,
        pos_receipts.store_id,
        pos_receipts.receipt_type,
        pos_receipts.payment_method,
        pos_receipts.discount_amount,
        pos_receipts.total_amount,
        pos_receipts.purchased_at_local,
        pos_receipts.original_receipt_id,
        pos_receipts.is_computed,
        resolved_records.customer_id,
        stores.time_zone,
        -- a till of a store missing from the reference file: read its clock as UTC, flagged
        {{ local_to_utc('pos_receipts.purchased_at_local', "coalesce(stores.time_zone, 'UTC')") }}
            as purchased_at
    from pos_receipts
    left join stores
        on pos_receipts.store_id = stores.store_id
    left join resolved_records
        on
            resolved_records.record_type = 'pos_receipt'
            and pos_receipts.receipt_id = resolved_records.record_id
),

pos_sales as (
    select * from pos_located
    where receipt_type = 'sale'
),

pos_returns as (
    select
        pos_located.*,
        pos_sales.receipt_id as matched_receipt_id
    from pos_located
    left join pos_sales
        on pos_located.original_receipt_id = pos_sales.receipt_id
    where pos_located.receipt_type = 'return'
),

returns_per_sale as (
    select
        matched_receipt_id as receipt_id,
        sum(total_amount) as returned_amount,
        max(purchased_at) as last_returned_at
    from pos_returns
    where matched_receipt_id is not null
    group by matched_receipt_id
),

shop_final as (
    select
        {{ dbt.concat(["'shop-'", 'source_order_id']) }} as order_id,
        'shop' as source_system,
        source_order_id,
        'sale' as order_type,
        customer_id,
        sales_channel,
        cast(null as {{ dbt.type_string() }}) as store_id,
        promo_code,
        order_status,
        cast(null as {{ dbt.type_string() }}) as payment_method,
        currency,
        cast(null as {{ dbt.type_string() }}) as original_order_id,
        ordered_at,
        case
            when time_zone is not null then {{ utc_to_local('ordered_at', 'time_zone') }}
        end as ordered_at_local,
        time_zone as order_time_zone,
        total_amount as gross_amount,
        coalesce(discount_amount, 0) as discount_amount,
        case when order_status = 'returned' then total_amount else 0 end as returned_amount,
        updated_at as source_updated_at
    from shop_resolved
),

pos_sales_final as (
    select
        {{ dbt.concat(["'pos-'", 'pos_sales.receipt_id']) }} as order_id,
        'pos' as source_system,
        pos_sales.receipt_id as source_order_id,
        'sale' as order_type,
        pos_sales.customer_id,
        'store' as sales_channel,
        pos_sales.store_id,
        cast(null as {{ dbt.type_string() }}) as promo_code,
        case
            when
                returns_per_sale.returned_amount > 0
                and returns_per_sale.returned_amount >= pos_sales.total_amount
                then 'returned'
            when returns_per_sale.returned_amount > 0 then 'partially_returned'
            else 'completed'
        end as order_status,
        pos_sales.payment_method,
        '{{ var("pos_currency", "RUB") }}' as currency,
        cast(null as {{ dbt.type_string() }}) as original_order_id,
        pos_sales.purchased_at as ordered_at,
        pos_sales.purchased_at_local as ordered_at_local,
        pos_sales.time_zone as order_time_zone,
        pos_sales.total_amount as gross_amount,
        coalesce(pos_sales.discount_amount, 0) as discount_amount,
        coalesce(returns_per_sale.returned_amount, 0) as returned_amount,
        -- a later return changes the sale, so the sale is re-processed in the return's window
        case
            when returns_per_sale.last_returned_at > pos_sales.purchased_at
                then returns_per_sale.last_returned_at
            else pos_sales.purchased_at
        end as source_updated_at
    from pos_sales
    left join returns_per_sale
        on pos_sales.receipt_id = returns_per_sale.receipt_id
    where pos_sales.is_computed
),

pos_returns_final as (
    select
        {{ dbt.concat(["'pos-'", 'receipt_id']) }} as order_id,
        'pos' as source_system,
        receipt_id as source_order_id,
        'return' as order_type,
        customer_id,
        'store' as sales_channel,
        store_id,
        cast(null as {{ dbt.type_string() }}) as promo_code,
        -- a return whose sale we cannot find is netted on its own row instead
        case when matched_receipt_id is null then 'unmatched_return' else 'completed' end
            as order_status,
        payment_method,
        '{{ var("pos_currency", "RUB") }}' as currency,
        case
            when original_receipt_id is not null
                then {{ dbt.concat(["'pos-'", 'original_receipt_id']) }}
        end as original_order_id,
        purchased_at as ordered_at,
        purchased_at_local as ordered_at_local,
        time_zone as order_time_zone,
        0 as gross_amount,
        0 as discount_amount,
        case when matched_receipt_id is null then total_amount else 0 end as returned_amount,
        purchased_at as source_updated_at
    from pos_returns
    where is_computed
),

unioned as (
    select * from shop_final
    union all
    select * from pos_sales_final
    union all
    select * from pos_returns_final
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
        cast(ordered_at as date) as ordered_date,
        cast(gross_amount as decimal(18, 2)) as gross_amount,
        cast(discount_amount as decimal(18, 2)) as discount_amount,
        cast(returned_amount as decimal(18, 2)) as returned_amount,
        cast(
            case when order_status = 'cancelled' then 0 else gross_amount - returned_amount end
            as decimal(18, 2)
        ) as net_amount,
        order_status = 'cancelled' as is_cancelled,
        -- a purchase for RFM, cohorts and CLV: a sale that was neither cancelled nor wholly
        -- returned (free orders count: CDNOW has 80 zero-dollar purchases)
        (
            order_type = 'sale'
            and order_status not in ('cancelled', 'returned')
        ) as is_purchase,
        source_updated_at,
        {{ clientbase.staged_at() }} as _staged_at
    from unioned
)

select * from final
