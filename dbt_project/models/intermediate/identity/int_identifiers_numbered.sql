-- Kept by identifier (macros/identity/dimensions_incremental.sql): a night deletes the rows of
-- the identifiers with an observation written since the newest stamp the table holds, and of
-- those that lost one or are gone, and computes here every identifier without a row (size L:
-- a night's 11 days touch ~0.6M of 5.3M identifiers).

{{ clientbase.dimension_config('identifiers_numbered_stale_rows') }}

-- One row per distinct identifier (type + normalised value), with the integer key the
-- connected-components loop works on (int_identifier_keys: assigned once, stable across builds),
-- and when and where it was seen. Keys stay internal; customer ids are derived from values.

{#- the systems an identifier can be seen in, in source-priority order -#}
{%- set source_systems = clientbase.identity_source_systems() %}
{%- set seen_labels = [] %}
{%- for system in source_systems %}
    {%- do seen_labels.append(
        "case when is_seen_in_" ~ system ~ " then '" ~ system ~ "|' else '' end") %}
{%- endfor %}

with

observations as (
    select * from {{ ref('int_identifiers_unioned') }}
),

identifier_keys as (
    select * from {{ ref('int_identifier_keys') }}
),

{% if is_incremental() %}
    -- the identifiers without a held row, found by their integer keys (every identifier has
    -- one): the observations then meet this short list instead of every held row (size L: the
    -- body 2.9 -> 2.1 s over 0.6M of 5.3M identifiers)
    identifiers_to_compute as (
        select
            identifier_keys.identifier_type,
            identifier_keys.identifier_value
        from identifier_keys
        where {{ clientbase.dimension_key_missing('identifier_keys', ['identifier_key']) }}
    ),
{% endif %}

keyed_observations as (
    select
        identifier_type,
        identifier_value,
        is_valid,
        first_observed_at,
        last_observed_at,
        source_system
    from observations
    where {{ clientbase.dimension_key_listed(
        'identifiers_to_compute', 'observations', ['identifier_type', 'identifier_value']) }}
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
        {%- for system in source_systems %}
            max(case when source_system = '{{ system }}' then 1 else 0 end) = 1
                as is_seen_in_{{ system }}{% if not loop.last %},{% endif %}
        {%- endfor %}
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
            {%- for system in source_systems %}
                case when identifiers.is_seen_in_{{ system }} then 1 else 0 end
                {%- if not loop.last %} +{% endif %}
            {%- endfor %}
        ) as source_system_count,
        {{ dbt.concat(seen_labels) }} as source_systems_raw
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
    substring(source_systems_raw, 1, length(source_systems_raw) - 1) as source_systems,
    {{ clientbase.staged_at() }} as _staged_at
from final
