with

source as (
    select * from {{ source('reference', 'stores') }}
),

typed as (
    select
        trim(store_id) as store_id,
        {{ clientbase.clean_text('store_name') }} as store_name,
        {{ clientbase.clean_text('city') }} as city,
        nullif(upper(trim(country_code)), '') as country_code,
        nullif(trim(time_zone), '') as time_zone,
        -- normalised like customer phones: cashiers type this number for customers without one,
        -- and identity must recognise it to keep it from linking strangers
        {{ clientbase.normalise_phone('phone') }} as phone,
        _source_file,
        {{ dbt.safe_cast('_source_line', dbt.type_int()) }} as _source_line
    from source
),

ranked as (
    select
        *,
        row_number() over (partition by store_id order by _source_file desc, _source_line desc)
            as copy_rank
    from typed
),

final as (
    select
        store_id,
        store_name,
        city,
        country_code,
        time_zone,
        phone
    from ranked
    where copy_rank = 1
)

select * from final
