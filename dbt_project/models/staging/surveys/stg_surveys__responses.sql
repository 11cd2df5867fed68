{{ clientbase.incremental_staging_config(unique_key='response_id') }}

-- Incremental: reads only new raw loads and keeps the first copy of each record, also across nights
-- (macros/staging/incremental_events.sql).
{% set copy_order = [('partition_date', 'asc'), ('_source_file', 'asc'), ('_source_line', 'asc')] %}

{#- layouts of a typed birthday: see birthday_parts -#}
{%- set iso_date = '^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$' -%}
{%- set numeric_date = '^([0-9]{1,2})[./]([0-9]{1,2})([./]([0-9]{2}|[0-9]{4}))?$' -%}
{%- set worded_date = '^([0-9]{1,2}) ([а-яё]+)( ([0-9]{4}))?$' -%}

with

source as {{ clientbase.inline_cte() }} (
    select raw_rows.* from {{ source('surveys', 'responses') }} as raw_rows
    where {{ clientbase.new_raw_loads_predicate('raw_rows', source('surveys', 'responses')) }}
),

typed as (
    select
        trim(response_id) as response_id,
        nullif(lower(trim(form_id)), '') as form_id,
        {{ clientbase.parse_utc_timestamp('submitted_at') }} as submitted_at,
        {{ clientbase.contact_point_columns(email='email', phone='phone') }},
        {{ clientbase.clean_text('name') }} as full_name,
        {{ clientbase.clean_text('birthday') }} as birthday_raw,
        nullif(lower({{ clientbase.json_string_array_to_text('interests', '|') }}), '') as interests,
        {{ clientbase.clean_text('answer') }} as answer,
        {{ clientbase.staging_lineage_columns() }}
    from source
),

birthday_parts as (
    -- Birthdays are typed free-hand. The form is Russian, and Russian writes the day first
    -- whatever the separator: 17.05.1990, 17/05/1990, 17.05.90, 17.05, "17 мая 1990"; ISO
    -- 1990-05-17 also occurs. A slashed date whose second part is over 12 was written
    -- month-first (05/17/1990) and is read that way. Day and month are kept even without a
    -- (four-digit) year; a two-digit year could be either century, so such a date gets no
    -- birth_date. Impossible dates (31.02) become null, never a neighbouring day.
    select
        *,
        {{ clientbase.regexp_extract_group('birthday_raw', iso_date, 1) }} as iso_year,
        {{ clientbase.regexp_extract_group('birthday_raw', iso_date, 2) }} as iso_month,
        {{ clientbase.regexp_extract_group('birthday_raw', iso_date, 3) }} as iso_day,
        {{ clientbase.regexp_extract_group('birthday_raw', numeric_date, 1) }} as numeric_first,
        {{ clientbase.regexp_extract_group('birthday_raw', numeric_date, 2) }} as numeric_second,
        {{ clientbase.regexp_extract_group('birthday_raw', numeric_date, 4) }} as numeric_year,
        {{ clientbase.regexp_extract_group('lower(birthday_raw)', worded_date, 1) }} as worded_day,
        {{ clientbase.regexp_extract_group('lower(birthday_raw)', worded_date, 2) }} as worded_month,
        {{ clientbase.regexp_extract_group('lower(birthday_raw)', worded_date, 4) }} as worded_year
    from typed
),

birthday_read as (
    select
        *,
        case
            when iso_year <> '' then iso_year
            when length(numeric_year) = 4 then numeric_year
            when length(worded_year) = 4 then worded_year
        end as birth_year_text,
        case
            when iso_year <> '' then {{ dbt.safe_cast('iso_month', dbt.type_int()) }}
            when numeric_first <> '' and {{ dbt.safe_cast('numeric_second', dbt.type_int()) }} > 12
                then {{ dbt.safe_cast('numeric_first', dbt.type_int()) }}
            when numeric_first <> '' then {{ dbt.safe_cast('numeric_second', dbt.type_int()) }}
            when worded_month in ('января', 'январь') then 1
            when worded_month in ('февраля', 'февраль') then 2
            when worded_month in ('марта', 'март') then 3
            when worded_month in ('апреля', 'апрель') then 4
            when worded_month in ('мая', 'май') then 5
            when worded_month in ('июня', 'июнь') then 6
            when worded_month in ('июля', 'июль') then 7
            when worded_month in ('августа', 'август') then 8
            when worded_month in ('сентября', 'сентябрь') then 9
            when worded_month in ('октября', 'октябрь') then 10
            when worded_month in ('ноября', 'ноябрь') then 11
            when worded_month in ('декабря', 'декабрь') then 12
        end as birth_month_number,
        case
            when iso_year <> '' then {{ dbt.safe_cast('iso_day', dbt.type_int()) }}
            when numeric_first <> '' and {{ dbt.safe_cast('numeric_second', dbt.type_int()) }} > 12
                then {{ dbt.safe_cast('numeric_second', dbt.type_int()) }}
            when numeric_first <> '' then {{ dbt.safe_cast('numeric_first', dbt.type_int()) }}
            when worded_day <> '' then {{ dbt.safe_cast('worded_day', dbt.type_int()) }}
        end as birth_day_number
    from birthday_parts
),

birthday_checked as (
    select
        *,
        -- a day and month that exist in some year (29 February included)
        {{ dbt.safe_cast(
            dbt.concat([
                "'2000-'",
                "lpad(" ~ dbt.safe_cast('birth_month_number', dbt.type_string()) ~ ", 2, '0')",
                "'-'",
                "lpad(" ~ dbt.safe_cast('birth_day_number', dbt.type_string()) ~ ", 2, '0')",
            ]),
            'date'
        ) }} is not null as is_day_month_possible,
        {{ dbt.safe_cast(
            dbt.concat([
                "birth_year_text",
                "'-'",
                "lpad(" ~ dbt.safe_cast('birth_month_number', dbt.type_string()) ~ ", 2, '0')",
                "'-'",
                "lpad(" ~ dbt.safe_cast('birth_day_number', dbt.type_string()) ~ ", 2, '0')",
            ]),
            'date'
        ) }} as birth_date
    from birthday_read
),

validated as (
    select
        *,
        {{ clientbase.contact_point_validity() }}
    from birthday_checked
),

winners as (
    {{ clientbase.incremental_winners('validated', 'response_id', copy_order) }}
),

final as (
    select
        response_id,
        form_id,
        submitted_at,
        {{ clientbase.contact_point_outputs() }},
        full_name,
        birth_date,
        case when is_day_month_possible then birth_month_number end as birth_month,
        case when is_day_month_possible then birth_day_number end as birth_day_of_month,
        birthday_raw,
        interests,
        answer,
        -- the reactivation poll's opt-out; anything else (no answer included) is not one
        coalesce(lower(answer) = 'not interested', false) as is_not_interested,
        partition_date,
        _source_file,
        _source_line,
        _loaded_at,
        _staged_at
    from winners
)

select * from final
