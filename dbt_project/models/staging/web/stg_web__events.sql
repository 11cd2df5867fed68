{{ clientbase.incremental_staging_config(unique_key='event_id') }}

-- Incremental: reads only new raw loads and keeps the first copy of each event, also across
-- nights (macros/staging/incremental_events.sql).
-- the tracker retries on a timeout, so an event can arrive twice: keep the first copy
{% set copy_order = [('partition_date', 'asc'), ('_source_file', 'asc'), ('_source_line', 'asc')] %}

with

source as {{ clientbase.inline_cte() }} (
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
        {{ clientbase.contact_point_columns(email='email') }},
        nullif(trim(product_id), '') as product_id,
        nullif(trim(page_url), '') as page_url,
        nullif(upper(trim(ip_country)), '') as ip_country_code,
        nullif(trim(ip_time_zone), '') as ip_time_zone,
        {{ clientbase.staging_lineage_columns() }}
    from source
),

validated as (
    select
        *,
        {{ clientbase.contact_point_validity(phone=false) }}
    from typed
),

winners as (
    {{ clientbase.incremental_winners('validated', 'event_id', copy_order) }}
),

final as (
    select
        event_id,
        event_type,
        occurred_at,
        anonymous_id,
        user_id,
        {{ clientbase.contact_point_outputs(phone=false) }},
        product_id,
        page_url,
        ip_country_code,
        ip_time_zone,
        partition_date,
        _source_file,
        _source_line,
        _loaded_at,
        _staged_at
    from winners
)

select * from final
