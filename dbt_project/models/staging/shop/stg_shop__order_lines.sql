{{ clientbase.incremental_staging_config(unique_key='order_line_id') }}

-- Incremental: reads only new raw loads and keeps the latest version of each record, also across nights
-- (macros/staging/incremental_events.sql).
-- lines are exported once, with their order's creation day; a line seen twice is a
-- re-delivered file: keep the latest copy
{% set copy_order = [('partition_date', 'desc'), ('_source_file', 'desc'), ('_source_line', 'desc')] %}

with

source as {{ clientbase.inline_cte() }} (
    select raw_rows.* from {{ source('shop', 'order_lines') }} as raw_rows
    where {{ clientbase.new_raw_loads_predicate('raw_rows', source('shop', 'order_lines')) }}
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
        {{ clientbase.staging_lineage_columns() }}
    from source
),

winners as (
    {{ clientbase.incremental_winners('typed', 'order_line_id', copy_order) }}
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
        _source_line,
        _loaded_at,
        _staged_at
    from winners
)

select * from final
