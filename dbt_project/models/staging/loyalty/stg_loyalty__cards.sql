{{ clientbase.incremental_staging_config(unique_key='card_number') }}

-- Incremental: reads only new raw loads and keeps the latest version of each record, also across nights
-- (macros/staging/incremental_events.sql).
-- keyed on the normalised number: '0012 3456' and '00123456' are one card
{% set copy_order = [
    ('updated_at', 'desc'), ('partition_date', 'desc'), ('_source_file', 'desc'), ('_source_line', 'desc')
] %}

with

source as {{ clientbase.inline_cte() }} (
    select raw_rows.* from {{ source('loyalty', 'cards') }} as raw_rows
    where {{ clientbase.new_raw_loads_predicate('raw_rows', source('loyalty', 'cards')) }}
),

typed as (
    select
        {{ clientbase.normalise_card_number('card_number') }} as card_number,
        {{ clientbase.clean_text('holder_name') }} as holder_name,
        {{ clientbase.contact_point_columns(email='email', phone='phone') }},
        {{ clientbase.parse_utc_timestamp('issued_at') }} as issued_at,
        nullif(trim(store_id), '') as store_id,
        {{ dbt.safe_cast('points_balance', 'decimal(18, 2)') }} as points_balance,
        nullif(lower(trim(status)), '') as card_status,
        {{ clientbase.parse_utc_timestamp('updated_at') }} as updated_at,
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
    {{ clientbase.incremental_winners('validated', 'card_number', copy_order) }}
),

final as (
    select
        card_number,
        holder_name,
        {{ clientbase.contact_point_outputs() }},
        issued_at,
        store_id,
        points_balance,
        card_status,
        updated_at,
        partition_date,
        _source_file,
        _source_line,
        _loaded_at,
        _staged_at
    from winners
)

select * from final
