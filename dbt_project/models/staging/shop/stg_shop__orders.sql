{{ clientbase.incremental_staging_config(unique_key='order_id') }}

-- Incremental: reads only new raw loads and keeps the latest version of each record, also across nights
-- (macros/staging/incremental_events.sql).
-- an order is re-exported whenever its status changes: the latest update is its state
{% set copy_order = [
    ('updated_at', 'desc'), ('partition_date', 'desc'), ('_source_file', 'desc'), ('_source_line', 'desc')
] %}

with

source as {{ clientbase.inline_cte() }} (
    select raw_rows.* from {{ source('shop', 'orders') }} as raw_rows
    where {{ clientbase.new_raw_loads_predicate('raw_rows', source('shop', 'orders')) }}
),

typed as (
    select
        trim(order_id) as order_id,
        {{ clientbase.parse_utc_timestamp('created_at') }} as ordered_at,
        {{ clientbase.parse_utc_timestamp('updated_at') }} as updated_at,
        nullif(lower(trim(status)), '') as order_status,
        nullif(trim(user_id), '') as user_id,
        {{ clientbase.normalise_identifier('anonymous_id') }} as anonymous_id,
        {{ clientbase.contact_point_columns(email='email', phone='phone') }},
        {{ clientbase.clean_text('first_name') }} as first_name,
        {{ clientbase.clean_text('last_name') }} as last_name,
        upper({{ clientbase.regexp_replace_all('promo_code', '[\\s\\x{00A0}]', '') }}) as promo_code,
        nullif(lower(trim(channel)), '') as sales_channel,
        nullif(upper(trim(currency)), '') as currency,
        {{ dbt.safe_cast('subtotal_amount', 'decimal(18, 2)') }} as subtotal_amount,
        {{ dbt.safe_cast('discount_amount', 'decimal(18, 2)') }} as discount_amount,
        {{ dbt.safe_cast('shipping_amount', 'decimal(18, 2)') }} as shipping_amount,
        {{ dbt.safe_cast('total_amount', 'decimal(18, 2)') }} as total_amount,
        {{ clientbase.staging_lineage_columns() }}
    from source
),

validated as (
    select
        *,
        {{ clientbase.contact_point_validity() }}
    from typed
),

winners as (
    {{ clientbase.incremental_winners('validated', 'order_id', copy_order) }}
),

final as (
    select
        order_id,
        ordered_at,
        updated_at,
        order_status,
        user_id,
        anonymous_id,
        {{ clientbase.contact_point_outputs() }},
        first_name,
        last_name,
        nullif(promo_code, '') as promo_code,
        sales_channel,
        currency,
        subtotal_amount,
        discount_amount,
        shipping_amount,
        total_amount,
        partition_date,
        _source_file,
        _source_line,
        _loaded_at,
        _staged_at
    from winners
)

select * from final
