{{
    config(
        materialized=clientbase.upsert_materialization(),
        unique_key='order_id',
        incremental_strategy=clientbase.upsert_strategy(),
        on_schema_change='fail',
    )
}}

-- Incremental: reads only new raw loads and keeps the latest version of each record, also across nights
-- (macros/staging/incremental_events.sql).
{% set copy_order = [
    ('updated_at', 'desc'), ('partition_date', 'desc'), ('_source_file', 'desc'), ('_source_line', 'desc')
] %}

with

source as (
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
        case when trim(email) <> '' then email end as email_raw,
        {{ clientbase.normalise_email('email') }} as email_normalised,
        case when trim(phone) <> '' then phone end as phone_raw,
        {{ clientbase.normalise_phone('phone') }} as phone_normalised,
        {{ clientbase.clean_text('first_name') }} as first_name,
        {{ clientbase.clean_text('last_name') }} as last_name,
        upper({{ clientbase.regexp_replace_all('promo_code', '[\\s\\x{00A0}]', '') }}) as promo_code,
        nullif(lower(trim(channel)), '') as sales_channel,
        nullif(upper(trim(currency)), '') as currency,
        {{ dbt.safe_cast('subtotal_amount', 'decimal(18, 2)') }} as subtotal_amount,
        {{ dbt.safe_cast('discount_amount', 'decimal(18, 2)') }} as discount_amount,
        {{ dbt.safe_cast('shipping_amount', 'decimal(18, 2)') }} as shipping_amount,
        {{ dbt.safe_cast('total_amount', 'decimal(18, 2)') }} as total_amount,
        cast(partition_date as date) as partition_date,
        _source_file,
        {{ dbt.safe_cast('_source_line', dbt.type_int()) }} as _source_line,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as _loaded_at
    from source
),

validated as (
    select
        *,
        case
            when email_raw is not null
                then coalesce({{ clientbase.is_valid_email('email_normalised') }}, false)
        end as is_email_valid,
        case when phone_raw is not null then phone_normalised is not null end as is_phone_valid
    from typed
),

ranked as (
    select
        *,
        -- an order is re-exported whenever its status changes: the latest update is its state
        row_number() over (
            partition by order_id
            order by {{ clientbase.order_by_list(copy_order) }}
        ) as version_rank
    from validated
),

winners as (
    {{ clientbase.incremental_winners('ranked', 'order_id', copy_order, rank_column='version_rank') }}
),

final as (
    select
        order_id,
        ordered_at,
        updated_at,
        order_status,
        user_id,
        anonymous_id,
        email_raw,
        case when is_email_valid then email_normalised end as email,
        is_email_valid,
        phone_raw,
        phone_normalised as phone,
        is_phone_valid,
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
        _loaded_at
    from winners
)

select * from final
