{{
    config(
        materialized=clientbase.upsert_materialization(),
        unique_key='receipt_id',
        incremental_strategy=clientbase.upsert_strategy(),
        on_schema_change='fail',
    )
}}

-- Incremental: reads only new raw loads and keeps the latest version of each record, also across nights
-- (macros/staging/incremental_events.sql).
{% set copy_order = [('partition_date', 'desc'), ('_source_file', 'desc'), ('_source_line', 'desc')] %}

with

source as (
    select raw_rows.* from {{ source('pos', 'receipts') }} as raw_rows
    where {{ clientbase.new_raw_loads_predicate('raw_rows', source('pos', 'receipts')) }}
),

typed as (
    select
        trim(receipt_id) as receipt_id,
        trim(store_id) as store_id,
        nullif(trim(register_id), '') as register_id,
        nullif(trim(cashier_id), '') as cashier_id,
        {{ clientbase.normalise_card_number('loyalty_card_number') }} as loyalty_card_number,
        case when trim(customer_phone) <> '' then customer_phone end as phone_raw,
        {{ clientbase.normalise_phone('customer_phone') }} as phone,
        nullif(lower(trim(receipt_type)), '') as receipt_type,
        {{ dbt.safe_cast('total_amount', 'decimal(18, 2)') }} as total_amount,
        {{ dbt.safe_cast('discount_amount', 'decimal(18, 2)') }} as discount_amount,
        nullif(lower(trim(payment_method)), '') as payment_method,
        -- local wall-clock time of the till; converting it to UTC needs the store's time zone,
        -- which is a join, so it happens in the intermediate layer
        {{ clientbase.parse_timestamp('trim(created_at_local)', '%d.%m.%Y %H:%M:%S') }}
            as purchased_at_local,
        nullif(trim(original_receipt_id), '') as original_receipt_id,
        cast(partition_date as date) as partition_date,
        _source_file,
        {{ dbt.safe_cast('_source_line', dbt.type_int()) }} as _source_line,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as _loaded_at
    from source
),

ranked as (
    select
        *,
        -- a receipt is final when printed: a second copy is a re-delivered file
        row_number() over (
            partition by receipt_id
            order by {{ clientbase.order_by_list(copy_order) }}
        ) as copy_rank
    from typed
),

winners as (
    {{ clientbase.incremental_winners('ranked', 'receipt_id', copy_order, rank_column='copy_rank') }}
),

final as (
    select
        receipt_id,
        store_id,
        register_id,
        cashier_id,
        loyalty_card_number,
        phone_raw,
        phone,
        case when phone_raw is not null then phone is not null end as is_phone_valid,
        receipt_type,
        total_amount,
        discount_amount,
        payment_method,
        purchased_at_local,
        original_receipt_id,
        partition_date,
        _source_file,
        _source_line,
        _loaded_at
    from winners
)

select * from final
