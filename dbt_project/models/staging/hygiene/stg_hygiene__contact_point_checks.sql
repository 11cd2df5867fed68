-- One row per contact point as staging models key them (normalised email / E.164 phone), with
-- the library verdicts of the extraction-layer asset contact_point_checks. Several raw spellings
-- of one address collapse into one row: it is invalid, role or disposable when any spelling
-- the libraries could read says so, and it keeps the phone country and zones of a valid one.

with

source as (
    select * from {{ source('hygiene', 'contact_point_checks') }}
),

typed as (
    select
        lower(trim(contact_point_type)) as contact_point_type,
        value_raw,
        -- the same normalisation staging applies, so the join to staging's columns is exact
        case
            when lower(trim(contact_point_type)) = 'email' then {{ clientbase.normalise_email('value_raw') }}
            else {{ clientbase.normalise_phone('value_raw') }}
        end as contact_point_value,
        nullif(trim(normalised), '') as library_normalised,
        {{ clientbase.normalise_boolean('is_valid') }} as is_valid,
        nullif(trim(reason), '') as reason,
        {{ clientbase.normalise_boolean('is_role') }} as is_role,
        {{ clientbase.normalise_boolean('is_disposable') }} as is_disposable,
        nullif(upper(trim(phone_country_code)), '') as phone_country_code,
        nullif(trim(phone_time_zones), '') as phone_time_zones,
        {{ dbt.safe_cast('phone_time_zone_count', dbt.type_int()) }} as phone_time_zone_count,
        checked_with,
        cast(_loaded_at as {{ dbt.type_timestamp() }}) as checked_at
    from source
),

keyed as (
    select * from typed
    where contact_point_value is not null
),

ranked as (
    select
        *,
        row_number() over (
            partition by contact_point_type, contact_point_value
            -- a valid spelling carries the phone's country and zones
            order by case when is_valid then 0 else 1 end, value_raw
        ) as spelling_rank,
        count(*) over (partition by contact_point_type, contact_point_value) as spelling_count,
        max(case when is_valid then 0 else 1 end)
            over (partition by contact_point_type, contact_point_value) as has_invalid_spelling,
        max(case when is_valid then 1 else 0 end)
            over (partition by contact_point_type, contact_point_value) as has_valid_spelling,
        max(case when is_role then 1 else 0 end)
            over (partition by contact_point_type, contact_point_value) as has_role_spelling,
        max(case when is_disposable then 1 else 0 end)
            over (partition by contact_point_type, contact_point_value) as has_disposable_spelling
    from keyed
),

final as (
    select
        {{ dbt.concat(["contact_point_type", "':'", "contact_point_value"]) }} as contact_point_key,
        contact_point_type,
        contact_point_value,
        library_normalised,
        -- valid when the libraries accept at least one spelling of it: staging normalised the
        -- others into the same value, so what is sent is the readable form
        has_valid_spelling = 1 as is_valid,
        reason,
        has_role_spelling = 1 as is_role,
        has_disposable_spelling = 1 as is_disposable,
        phone_country_code,
        phone_time_zones,
        phone_time_zone_count,
        spelling_count,
        checked_with,
        checked_at
    from ranked
    where spelling_rank = 1
)

select * from final
