with

source as (
    select * from {{ source('reference', 'products') }}
),

typed as (
    select
        trim(product_id) as product_id,
        nullif(trim(sku), '') as sku,
        {{ clientbase.clean_text('product_name') }} as product_name,
        {{ clientbase.clean_text('category_l1') }} as category_l1,
        {{ clientbase.clean_text('category_l2') }} as category_l2,
        {{ clientbase.clean_text('category_l3') }} as category_l3,
        {{ clientbase.clean_text('brand') }} as brand,
        {{ dbt.safe_cast('price', 'decimal(18, 2)') }} as list_price,
        _source_file,
        {{ dbt.safe_cast('_source_line', dbt.type_int()) }} as _source_line
    from source
),

ranked as (
    select
        *,
        row_number() over (partition by product_id order by _source_file desc, _source_line desc)
            as copy_rank
    from typed
),

final as (
    select
        product_id,
        sku,
        product_name,
        category_l1,
        category_l2,
        category_l3,
        brand,
        list_price
    from ranked
    where copy_rank = 1
)

select * from final
