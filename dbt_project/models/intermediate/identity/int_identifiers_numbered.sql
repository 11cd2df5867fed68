-- One row per distinct identifier (type + normalised value), with the integer key the
-- connected-components loop works on (int_identifier_keys: assigned once, stable across builds),
-- and when and where it was seen. Keys stay internal; customer ids are derived from values.

with

observations as (
    select * from {{ ref('int_identifiers_unioned') }}
),

identifier_keys as (
    select * from {{ ref('int_identifier_keys') }}
),

keyed_observations as (
    select
        identifier_type,
        identifier_value,
        is_valid,
        first_observed_at,
        last_observed_at,
        source_system
    from observations
),

identifiers as (
    select
        identifier_type,
        identifier_value,
        max(case when is_valid then 1 else 0 end) = 1 as is_valid,
        min(first_observed_at) as first_seen_at,
        max(last_observed_at) as last_seen_at,
        -- an observation is one (record, identifier) pair (int_identifiers_unioned groups by
        -- them, and a record type belongs to one source system), so counting rows counts the
        -- distinct records, without a distinct aggregate's extra grouping of every observation
        -- (size L: 47 -> 11 s CPU)
        count(*) as record_count,
        max(case when source_system = 'crm' then 1 else 0 end) = 1 as is_seen_in_crm,
        max(case when source_system = 'shop' then 1 else 0 end) = 1 as is_seen_in_shop,
        max(case when source_system = 'pos' then 1 else 0 end) = 1 as is_seen_in_pos,
        max(case when source_system = 'loyalty' then 1 else 0 end) = 1 as is_seen_in_loyalty,
        max(case when source_system = 'web' then 1 else 0 end) = 1 as is_seen_in_web,
        max(case when source_system = 'messaging' then 1 else 0 end) = 1 as is_seen_in_messaging,
        max(case when source_system = 'surveys' then 1 else 0 end) = 1 as is_seen_in_surveys
    from keyed_observations
    group by identifier_type, identifier_value
),

final as (
    select
        identifier_keys.identifier_key,
        identifiers.identifier_type,
        identifiers.identifier_value,
        {{ dbt.concat(["identifiers.identifier_type", "':'", "identifiers.identifier_value"]) }} as identifier,
        identifiers.is_valid,
        identifiers.first_seen_at,
        identifiers.last_seen_at,
        identifiers.record_count,
        -- the systems it was seen in, counted from the flags: count(distinct source_system)
        (
            {%- for system in ['crm', 'loyalty', 'shop', 'pos', 'surveys', 'web', 'messaging'] %}
                case when identifiers.is_seen_in_{{ system }} then 1 else 0 end
                {%- if not loop.last %} +{% endif %}
            {%- endfor %}
        ) as source_system_count,
        {{ dbt.concat([
            "case when is_seen_in_crm then 'crm|' else '' end",
            "case when is_seen_in_loyalty then 'loyalty|' else '' end",
            "case when is_seen_in_shop then 'shop|' else '' end",
            "case when is_seen_in_pos then 'pos|' else '' end",
            "case when is_seen_in_surveys then 'surveys|' else '' end",
            "case when is_seen_in_web then 'web|' else '' end",
            "case when is_seen_in_messaging then 'messaging|' else '' end",
        ]) }} as source_systems_raw
    from identifiers
    inner join identifier_keys
        on
            identifiers.identifier_type = identifier_keys.identifier_type
            and identifiers.identifier_value = identifier_keys.identifier_value
)

select
    identifier_key,
    identifier_type,
    identifier_value,
    identifier,
    is_valid,
    first_seen_at,
    last_seen_at,
    record_count,
    source_system_count,
    -- `crm|shop|web`: the systems it was seen in, in source-priority order
    substring(source_systems_raw, 1, length(source_systems_raw) - 1) as source_systems
from final
