with

source as (
    select * from {{ source('pos', 'receipts') }}
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
        {{ dbt.safe_cast('_source_line', dbt.type_int()) }} as _source_line
    from source
),

ranked as (
    select
        *,
        -- a receipt is final when printed: a second copy is a re-delivered file
        row_number() over (
            partition by receipt_id
            order by partition_date desc, _source_file desc, _source_line desc
        ) as copy_rank
    from typed
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
        _source_line
    from ranked
    where copy_rank = 1
)

select * from final
