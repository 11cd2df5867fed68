{{
    config(
        materialized=clientbase.upsert_materialization(),
        unique_key='event_id',
        incremental_strategy=clientbase.upsert_strategy(),
        on_schema_change='fail',
    )
}}

-- Incremental: reads only new raw loads and keeps the first copy of each event, also across
-- nights (macros/staging/incremental_events.sql).
{% set copy_order = [('partition_date', 'asc'), ('_source_file', 'asc'), ('_source_line', 'asc')] %}

with

source as (
    select raw_rows.* from {{ source('web', 'events') }} as raw_rows
    where {{ clientbase.new_raw_loads_predicate('raw_rows', source('web', 'events')) }}
),

typed as (
    select
        trim(event_id) as event_id,
        nullif(lower(trim(event_type)), '') as event_type,
        {{ clientbase.parse_utc_timestamp('occurred_at') }} as occurred_at,
        {{ clientbase.normalise_identifier('anonymous_id') }} as anonymous_id,
        nullif(trim(user_id), '') as user_id,
        case when trim(email) <> '' then email end as email_raw,
        {{ clientbase.normalise_email('email') }} as email_normalised,
        nullif(trim(product_id), '') as product_id,
        nullif(trim(page_url), '') as page_url,
        nullif(upper(trim(ip_country)), '') as ip_country_code,
        nullif(trim(ip_time_zone), '') as ip_time_zone,
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
        end as is_email_valid
    from typed
),

ranked as (
    select
        *,
        -- the tracker retries on a timeout, so an event can arrive twice: keep the first copy
        row_number() over (
            partition by event_id
            order by {{ clientbase.order_by_list(copy_order) }}
        ) as copy_rank
    from validated
),

winners as (
    {{ clientbase.incremental_winners('ranked', 'event_id', copy_order) }}
),

final as (
    select
        event_id,
        event_type,
        occurred_at,
        anonymous_id,
        user_id,
        email_raw,
        case when is_email_valid then email_normalised end as email,
        is_email_valid,
        product_id,
        page_url,
        ip_country_code,
        ip_time_zone,
        partition_date,
        _source_file,
        _source_line,
        _loaded_at
    from winners
)

select * from final
