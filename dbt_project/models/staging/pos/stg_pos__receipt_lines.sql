with

source as (
    select * from {{ source('pos', 'receipt_lines') }}
),

typed as (
    select
        trim(receipt_id) as receipt_id,
        {{ dbt.safe_cast('trim(line_number)', dbt.type_int()) }} as line_number,
        trim(product_id) as product_id,
        {{ dbt.safe_cast('quantity', 'decimal(18, 3)') }} as quantity,
        {{ dbt.safe_cast('unit_price', 'decimal(18, 2)') }} as unit_price,
        {{ dbt.safe_cast('discount_amount', 'decimal(18, 2)') }} as discount_amount,
        {{ dbt.safe_cast('line_amount', 'decimal(18, 2)') }} as line_amount,
        cast(partition_date as date) as partition_date,
        _source_file,
        {{ dbt.safe_cast('_source_line', dbt.type_int()) }} as _source_line
    from source
),

keyed as (
    select
        {{ dbt.concat(['receipt_id', "'-'", dbt.safe_cast('line_number', dbt.type_string())]) }}
            as receipt_line_id,
        *
    from typed
),

ranked as (
    select
        *,
        row_number() over (
            partition by receipt_line_id
            order by partition_date desc, _source_file desc, _source_line desc
        ) as copy_rank
    from keyed
),

final as (
    select
        receipt_line_id,
        receipt_id,
        line_number,
        product_id,
        quantity,
        unit_price,
        discount_amount,
        line_amount,
        partition_date,
        _source_file,
        _source_line
    from ranked
    where copy_rank = 1
)

select * from final
