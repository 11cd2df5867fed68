{{
    config(
        materialized=clientbase.upsert_materialization(),
        unique_key='card_number',
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
    select raw_rows.* from {{ source('loyalty', 'cards') }} as raw_rows
    where {{ clientbase.new_raw_loads_predicate('raw_rows', source('loyalty', 'cards')) }}
),

typed as (
    select
        {{ clientbase.normalise_card_number('card_number') }} as card_number,
        {{ clientbase.clean_text('holder_name') }} as holder_name,
        case when trim(phone) <> '' then phone end as phone_raw,
        {{ clientbase.normalise_phone('phone') }} as phone_normalised,
        case when trim(email) <> '' then email end as email_raw,
        {{ clientbase.normalise_email('email') }} as email_normalised,
        {{ clientbase.parse_utc_timestamp('issued_at') }} as issued_at,
        nullif(trim(store_id), '') as store_id,
        {{ dbt.safe_cast('points_balance', 'decimal(18, 2)') }} as points_balance,
        nullif(lower(trim(status)), '') as card_status,
        {{ clientbase.parse_utc_timestamp('updated_at') }} as updated_at,
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
        -- keyed on the normalised number: '0012 3456' and '00123456' are one card
        row_number() over (
            partition by card_number
            order by {{ clientbase.order_by_list(copy_order) }}
        ) as version_rank
    from validated
),

winners as (
    {{ clientbase.incremental_winners('ranked', 'card_number', copy_order, rank_column='version_rank') }}
),

final as (
    select
        card_number,
        holder_name,
        phone_raw,
        phone_normalised as phone,
        is_phone_valid,
        email_raw,
        case when is_email_valid then email_normalised end as email,
        is_email_valid,
        issued_at,
        store_id,
        points_balance,
        card_status,
        updated_at,
        partition_date,
        _source_file,
        _source_line,
        _loaded_at
    from winners
)

select * from final
