{{ clientbase.incremental_staging_config(unique_key='receipt_line_id') }}

-- Incremental: reads only new raw loads and keeps the latest version of each record, also across nights
-- (macros/staging/incremental_events.sql).
{% set copy_order = [('partition_date', 'desc'), ('_source_file', 'desc'), ('_source_line', 'desc')] %}

with

source as {{ clientbase.inline_cte() }} (
    select raw_rows.* from {{ source('pos', 'receipt_lines') }} as raw_rows
    where {{ clientbase.new_raw_loads_predicate('raw_rows', source('pos', 'receipt_lines')) }}
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
        {{ clientbase.staging_lineage_columns() }}
    from source
),

keyed as (
    select
        {{ dbt.concat(['receipt_id', "'-'", dbt.safe_cast('line_number', dbt.type_string())]) }}
            as receipt_line_id,
        *
    from typed
),

winners as (
    {{ clientbase.incremental_winners('keyed', 'receipt_line_id', copy_order) }}
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
        _source_line,
        _loaded_at,
        _staged_at
    from winners
)

select * from final
