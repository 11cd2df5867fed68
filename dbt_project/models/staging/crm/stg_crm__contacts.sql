{{ clientbase.incremental_staging_config(unique_key='contact_id') }}

-- Incremental: reads only new raw loads and keeps the latest version of each record, also across nights
-- (macros/staging/incremental_events.sql).
-- the contact's latest state wins; ties (the same update exported twice) resolve to the
-- latest export, then the last line, so a rebuild always keeps the same row
{% set copy_order = [
    ('updated_at', 'desc'), ('partition_date', 'desc'), ('_source_file', 'desc'), ('_source_line', 'desc')
] %}

with

source as {{ clientbase.inline_cte() }} (
    select raw_rows.* from {{ source('crm', 'contacts') }} as raw_rows
    where {{ clientbase.new_raw_loads_predicate('raw_rows', source('crm', 'contacts')) }}
),

typed as (
    select
        trim(contact_id) as contact_id,
        {{ clientbase.clean_text('first_name') }} as first_name,
        {{ clientbase.clean_text('last_name') }} as last_name,
        {{ clientbase.clean_text('first_name_latin') }} as first_name_latin,
        {{ clientbase.clean_text('last_name_latin') }} as last_name_latin,
        {{ clientbase.contact_point_columns(email='email', phone='phone') }},
        {{ dbt.safe_cast('trim(birth_date)', 'date') }} as birth_date,
        nullif(lower(trim(gender)), '') as gender,
        {{ clientbase.clean_text('city') }} as city,
        nullif(upper(trim(country_code)), '') as country_code,
        nullif(trim(time_zone), '') as time_zone,
        nullif(lower(trim(lead_source)), '') as lead_source,
        -- one spelling per tag, so that 'VIP | newsletter' and 'vip|newsletter' compare equal
        nullif(
            lower({{ clientbase.regexp_replace_all('trim(tags)', '\\s*[|]\\s*', '|') }}), ''
        ) as tags,
        {{ clientbase.normalise_telegram_id('telegram_id') }} as telegram_id,
        {{ clientbase.normalise_identifier('vk_id') }} as vk_id,
        {{ clientbase.normalise_boolean('consent_email') }} as has_consent_email,
        {{ clientbase.parse_utc_timestamp('consent_email_at') }} as consent_email_at,
        {{ clientbase.normalise_boolean('consent_sms') }} as has_consent_sms,
        {{ clientbase.parse_utc_timestamp('consent_sms_at') }} as consent_sms_at,
        {{ clientbase.normalise_boolean('consent_whatsapp') }} as has_consent_whatsapp,
        {{ clientbase.parse_utc_timestamp('consent_whatsapp_at') }} as consent_whatsapp_at,
        {{ clientbase.normalise_boolean('consent_telegram') }} as has_consent_telegram,
        {{ clientbase.parse_utc_timestamp('consent_telegram_at') }} as consent_telegram_at,
        {{ clientbase.parse_utc_timestamp('created_at') }} as created_at,
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
    {{ clientbase.incremental_winners('validated', 'contact_id', copy_order) }}
),

final as (
    select
        contact_id,
        first_name,
        last_name,
        first_name_latin,
        last_name_latin,
        {{ clientbase.contact_point_outputs() }},
        birth_date,
        gender,
        city,
        country_code,
        time_zone,
        lead_source,
        tags,
        telegram_id,
        vk_id,
        has_consent_email,
        consent_email_at,
        has_consent_sms,
        consent_sms_at,
        has_consent_whatsapp,
        consent_whatsapp_at,
        has_consent_telegram,
        consent_telegram_at,
        created_at,
        updated_at,
        partition_date,
        _source_file,
        _source_line,
        _loaded_at,
        _staged_at
    from winners
)

select * from final
