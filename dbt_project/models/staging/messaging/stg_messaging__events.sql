{{ clientbase.incremental_staging_config(unique_key='message_event_id') }}

-- Incremental: reads only new raw loads and keeps the first copy of each event, also across
-- nights (macros/staging/incremental_events.sql).
-- the provider's webhook delivers at least once: keep the first copy of an event
{% set copy_order = [('partition_date', 'asc'), ('_source_file', 'asc'), ('_source_line', 'asc')] %}

with

source as {{ clientbase.inline_cte() }} (
    select raw_rows.* from {{ source('messaging', 'events') }} as raw_rows
    where {{ clientbase.new_raw_loads_predicate('raw_rows', source('messaging', 'events')) }}
),

typed as (
    select
        trim(event_id) as message_event_id,
        nullif(lower(trim(channel)), '') as channel,
        case when trim(address) <> '' then address end as address_raw,
        nullif(trim(campaign_id), '') as campaign_id,
        {{ clientbase.clean_text('campaign_name') }} as campaign_name,
        nullif(upper({{ clientbase.regexp_replace_all('promo_code', '[\\s\\x{00A0}]', '') }}), '')
            as promo_code,
        nullif(lower(trim(event_type)), '') as event_type,
        {{ clientbase.parse_utc_timestamp('occurred_at') }} as occurred_at,
        {{ clientbase.clean_text('bounce_reason') }} as bounce_reason,
        {{ clientbase.staging_lineage_columns() }}
    from source
),

addresses as (
    -- an address receives many events: the regex normalisation runs once per distinct
    -- address, not once per event (on size M ~10x fewer evaluations)
    select distinct
        channel,
        address_raw
    from typed
    where address_raw is not null
),

addressed as (
    -- the address column means something different per channel; each reading goes to its own
    -- column so that identity can treat it as the identifier type it is
    select
        channel,
        address_raw,
        case when channel = 'email' then {{ clientbase.normalise_email('address_raw') }} end
            as email_normalised,
        case
            -- the gateway stores what it imported, stripped to digits: national numbers
            -- (8916…) or international ones without their plus (48601…)
            when channel in ('sms', 'whatsapp')
                then {{ clientbase.normalise_phone('address_raw', assume_international=true) }}
        end as phone,
        case
            when channel = 'telegram' then {{ clientbase.normalise_telegram_id('address_raw') }}
        end as telegram_id
    from addresses
),

addresses_validated as (
    select
        *,
        case
            when channel = 'email'
                then coalesce({{ clientbase.is_valid_email('email_normalised') }}, false)
            when channel in ('sms', 'whatsapp') then phone is not null
            when channel = 'telegram' then telegram_id is not null
        end as is_address_valid
    from addressed
),

validated as (
    -- a blank address finds no row: its readings are null and it is valid for no channel
    select
        typed.*,
        addresses_validated.email_normalised,
        addresses_validated.phone,
        addresses_validated.telegram_id,
        case
            when addresses_validated.address_raw is not null
                then addresses_validated.is_address_valid
            when typed.channel in ('email', 'sms', 'whatsapp', 'telegram') then false
        end as is_address_valid
    from typed
    left join addresses_validated
        on
            typed.channel = addresses_validated.channel
            and typed.address_raw = addresses_validated.address_raw
),

winners as (
    {{ clientbase.incremental_winners('validated', 'message_event_id', copy_order) }}
),

final as (
    select
        message_event_id,
        channel,
        address_raw,
        case when is_address_valid then email_normalised end as email,
        phone,
        telegram_id,
        is_address_valid,
        campaign_id,
        campaign_name,
        promo_code,
        event_type,
        occurred_at,
        bounce_reason,
        partition_date,
        _source_file,
        _source_line,
        _loaded_at,
        _staged_at
    from winners
)

select * from final
