{{ clientbase.upsert_config(unique_key='contact_point_key') }}
{{ config(pre_hook="{{ clientbase.contact_point_checks_pre_hook() }}") }}

-- One row per contact point as staging models key them (normalised email / E.164 phone), with
-- the library verdicts of the extraction-layer asset contact_point_checks. Several raw spellings
-- of one address collapse into one row: it is invalid, role or disposable when any spelling
-- the libraries could read says so, and it keeps the verdict (library form, reason, phone
-- country and zones) of its first spelling, valid ones first, then by raw value.
--
-- Incremental (macros/staging/contact_point_checks.sql): the asset stamps only the values it
-- checked tonight, so a night reads those spellings alone and merges them into the rows of
-- their contact points. Every rule above is a first-or-any over spellings, so merging tonight's
-- spellings into last night's row gives the row a rebuild over all spellings gives. A checks
-- file whose every row is newer than this table was rewritten whole (a full read: values may
-- have left the raw zone), and the table is rebuilt from it.
{%- set merging = clientbase.contact_point_checks_merging() %}

with

source as (
    select * from {{ source('hygiene', 'contact_point_checks') }}
    {%- if merging %}
        where cast(_loaded_at as {{ dbt.type_timestamp() }}) > (select max(checked_at) from {{ this }})
    {%- endif %}
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
    select
        {{ dbt.concat(["contact_point_type", "':'", "contact_point_value"]) }} as contact_point_key,
        *
    from typed
    where contact_point_value is not null
),

ranked as (
    select
        *,
        row_number() over (
            partition by contact_point_key
            -- a valid spelling carries the phone's country and zones
            order by case when is_valid then 0 else 1 end, value_raw
        ) as spelling_rank,
        count(*) over (partition by contact_point_key) as spelling_count,
        max(case when is_valid then 1 else 0 end)
            over (partition by contact_point_key) as has_valid_spelling,
        max(case when is_role then 1 else 0 end)
            over (partition by contact_point_key) as has_role_spelling,
        max(case when is_disposable then 1 else 0 end)
            over (partition by contact_point_key) as has_disposable_spelling,
        max(checked_at) over (partition by contact_point_key) as last_checked_at
    from keyed
),

batch as (
    select
        contact_point_key,
        contact_point_type,
        contact_point_value,
        value_raw,
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
        last_checked_at as checked_at
    from ranked
    where spelling_rank = 1
),

{%- if merging %}

kept as (
    select held.*
    from {{ this }} as held
    inner join batch on held.contact_point_key = batch.contact_point_key
),

merged as (
    {{ clientbase.contact_point_checks_merged('batch', 'kept') }}
),

{%- endif %}

final as (
    select
        contact_point_key,
        contact_point_type,
        contact_point_value,
        value_raw,
        library_normalised,
        is_valid,
        reason,
        is_role,
        is_disposable,
        phone_country_code,
        phone_time_zones,
        phone_time_zone_count,
        spelling_count,
        checked_with,
        checked_at
    from {{ 'merged' if merging else 'batch' }}
)

select * from final
