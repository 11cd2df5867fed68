with

source as (
    select * from {{ source('surveys', 'responses') }}
),

typed as (
    select
        trim(response_id) as response_id,
        nullif(lower(trim(form_id)), '') as form_id,
        {{ clientbase.parse_utc_timestamp('submitted_at') }} as submitted_at,
        case when trim(email) <> '' then email end as email_raw,
        {{ clientbase.normalise_email('email') }} as email_normalised,
        case when trim(phone) <> '' then phone end as phone_raw,
        {{ clientbase.normalise_phone('phone') }} as phone_normalised,
        {{ clientbase.clean_text('name') }} as full_name,
        {{ clientbase.clean_text('birthday') }} as birthday_raw,
        nullif(lower({{ clientbase.json_string_array_to_text('interests', '|') }}), '') as interests,
        {{ clientbase.clean_text('answer') }} as answer,
        cast(partition_date as date) as partition_date,
        _source_file,
        {{ dbt.safe_cast('_source_line', dbt.type_int()) }} as _source_line
    from source
),

birthday_parts as (
    -- Birthdays are typed free-hand. Only layouts whose reading is certain become a date:
    -- ISO (1990-05-17), dotted day-first (17.05.1990, the Russian convention) and slashed when
    -- one side is over 12 (25/06/1991 or 06/25/1991) or both sides are equal. 05/06/1991 could be
    -- either and stays null; so do two-digit years and impossible dates (31.02.1990).
    select
        *,
        {{ clientbase.regexp_extract_group('birthday_raw', '^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$', 1) }}
            as iso_year,
        {{ clientbase.regexp_extract_group('birthday_raw', '^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$', 2) }}
            as iso_month,
        {{ clientbase.regexp_extract_group('birthday_raw', '^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$', 3) }}
            as iso_day,
        {{ clientbase.regexp_extract_group('birthday_raw', '^([0-9]{1,2})[.]([0-9]{1,2})[.]([0-9]{4})$', 1) }}
            as dotted_day,
        {{ clientbase.regexp_extract_group('birthday_raw', '^([0-9]{1,2})[.]([0-9]{1,2})[.]([0-9]{4})$', 2) }}
            as dotted_month,
        {{ clientbase.regexp_extract_group('birthday_raw', '^([0-9]{1,2})[.]([0-9]{1,2})[.]([0-9]{4})$', 3) }}
            as dotted_year,
        {{ clientbase.regexp_extract_group('birthday_raw', '^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$', 1) }}
            as slashed_first,
        {{ clientbase.regexp_extract_group('birthday_raw', '^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$', 2) }}
            as slashed_second,
        {{ clientbase.regexp_extract_group('birthday_raw', '^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$', 3) }}
            as slashed_year
    from typed
),

birthday_read as (
    select
        *,
        case
            when iso_year <> '' then iso_year
            when dotted_year <> '' then dotted_year
            when slashed_year <> '' then slashed_year
        end as birth_year,
        case
            when iso_year <> '' then iso_month
            when dotted_year <> '' then dotted_month
            when slashed_year <> '' and cast(slashed_first as integer) > 12 then slashed_second
            when slashed_year <> '' and cast(slashed_second as integer) > 12 then slashed_first
            when slashed_year <> '' and slashed_first = slashed_second then slashed_first
        end as birth_month,
        case
            when iso_year <> '' then iso_day
            when dotted_year <> '' then dotted_day
            when slashed_year <> '' and cast(slashed_first as integer) > 12 then slashed_first
            when slashed_year <> '' and cast(slashed_second as integer) > 12 then slashed_second
            when slashed_year <> '' and slashed_first = slashed_second then slashed_first
        end as birth_day
    from birthday_parts
),

validated as (
    select
        *,
        {{ dbt.safe_cast(
            dbt.concat(["birth_year", "'-'", "lpad(birth_month, 2, '0')", "'-'", "lpad(birth_day, 2, '0')"]),
            'date'
        ) }} as birth_date,
        case
            when email_raw is not null
                then coalesce({{ clientbase.is_valid_email('email_normalised') }}, false)
        end as is_email_valid,
        case when phone_raw is not null then phone_normalised is not null end as is_phone_valid
    from birthday_read
),

ranked as (
    select
        *,
        row_number() over (
            partition by response_id
            order by partition_date asc, _source_file asc, _source_line asc
        ) as copy_rank
    from validated
),

final as (
    select
        response_id,
        form_id,
        submitted_at,
        email_raw,
        case when is_email_valid then email_normalised end as email,
        is_email_valid,
        phone_raw,
        phone_normalised as phone,
        is_phone_valid,
        full_name,
        birth_date,
        birthday_raw,
        interests,
        answer,
        -- the reactivation poll's opt-out; anything else (no answer included) is not one
        coalesce(lower(answer) = 'not interested', false) as is_not_interested,
        partition_date,
        _source_file,
        _source_line
    from ranked
    where copy_rank = 1
)

select * from final
