with

source as (
    select * from {{ source('shop', 'order_lines') }}
),

typed as (
    select
        trim(order_line_id) as order_line_id,
        trim(order_id) as order_id,
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

ranked as (
    select
        *,
        -- lines are exported once, with their order's creation day; a line seen twice is a
        -- re-delivered file: keep the latest copy
        row_number() over (
            partition by order_line_id
            order by partition_date desc, _source_file desc, _source_line desc
        ) as copy_rank
    from typed
),

final as (
    select
        order_line_id,
        order_id,
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
