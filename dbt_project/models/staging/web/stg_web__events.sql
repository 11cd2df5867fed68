with

source as (
    select * from {{ source('web', 'events') }}
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
        {{ dbt.safe_cast('_source_line', dbt.type_int()) }} as _source_line
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
            order by partition_date asc, _source_file asc, _source_line asc
        ) as copy_rank
    from validated
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
        _source_line
    from ranked
    where copy_rank = 1
)

select * from final
