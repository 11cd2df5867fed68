{{ clientbase.incremental_staging_config(unique_key='receipt_id') }}

-- Incremental: reads only new raw loads and keeps the latest version of each record, also across nights
-- (macros/staging/incremental_events.sql).
-- a receipt is final when printed: a second copy is a re-delivered file
{% set copy_order = [('partition_date', 'desc'), ('_source_file', 'desc'), ('_source_line', 'desc')] %}

with

source as {{ clientbase.inline_cte() }} (
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
        {{ clientbase.contact_point_columns(phone='customer_phone') }},
        nullif(lower(trim(receipt_type)), '') as receipt_type,
        {{ dbt.safe_cast('total_amount', 'decimal(18, 2)') }} as total_amount,
        {{ dbt.safe_cast('discount_amount', 'decimal(18, 2)') }} as discount_amount,
        nullif(lower(trim(payment_method)), '') as payment_method,
        -- local wall-clock time of the till; converting it to UTC needs the store's time zone,
        -- which is a join, so it happens in the intermediate layer
        {{ clientbase.parse_timestamp('trim(created_at_local)', '%d.%m.%Y %H:%M:%S') }}
            as purchased_at_local,
        nullif(trim(original_receipt_id), '') as original_receipt_id,
        {{ clientbase.staging_lineage_columns() }}
    from source
),

validated as (
    select
        *,
        {{ clientbase.contact_point_validity(email=false) }}
    from typed
),

winners as (
    {{ clientbase.incremental_winners('validated', 'receipt_id', copy_order) }}
),

final as (
    select
        receipt_id,
        store_id,
        register_id,
        cashier_id,
        loyalty_card_number,
        {{ clientbase.contact_point_outputs(email=false) }},
        receipt_type,
        total_amount,
        discount_amount,
        payment_method,
        purchased_at_local,
        original_receipt_id,
        partition_date,
        _source_file,
        _source_line,
        _loaded_at,
        _staged_at
    from winners
)

select * from final
