-- Identifiers kept out of the identity graph, one row per identifier with the reason that
-- applies first: an invalid value, a blocklisted placeholder (seed identity_junk_blocklist),
-- a store's own phone typed by cashiers, an e-mail or phone carried by CRM contacts with
-- different birth dates (a shared office mailbox: two people, not a duplicate contact), the
-- only bridge between two identifiers a steward said never to link, or a hub - linked to more distinct identifiers of one other type than
-- var identity_hub_limits allows (shared family phones, test cookies, CRM junk).
-- Excluded identifiers stay attributes of whoever they resolve to; they just link nobody.

with

identifiers as (
    select * from {{ ref('int_identifiers_numbered') }}
),

edge_records as (
    select * from {{ ref('int_identity_edges_observed') }}
),

blocklist as (
    select * from {{ ref('identity_junk_blocklist') }}
),

stores as (
    select * from {{ ref('stg_reference__stores') }}
),

override_pairs as (
    select * from {{ ref('int_identity_override_pairs') }}
),

observations as (
    select * from {{ ref('int_identifiers_unioned') }}
),

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

invalid as (
    select
        identifier_key,
        1 as reason_rank,
        'invalid_format' as exclusion_reason,
        'the source system flags the value as malformed' as exclusion_detail
    from identifiers
    where not is_valid
),

-- exact values join on the value; each regex is written into the SQL as a constant (read from
-- the seed when the model runs), so the engine compiles it once instead of once per identifier
-- (a pattern taken from a joined column: 42 s of CPU on size L's 5.3M identifiers)
{%- set blocklist_regexes = clientbase.identity_blocklist_regexes(ref('identity_junk_blocklist')) %}
blocklist_matches as (
    select
        identifiers.identifier_key,
        blocklist.reason
    from identifiers
    inner join blocklist
        on
            identifiers.identifier_type = blocklist.identifier_type
            and identifiers.identifier_value = blocklist.pattern
    where blocklist.match_type = 'exact'
    {%- for regex in blocklist_regexes %}
        union all
        select
            identifier_key,
            {{ clientbase.text_literal(regex.reason) }} as reason
        from identifiers
        where
            identifier_type = {{ clientbase.text_literal(regex.identifier_type) }}
            and {{ clientbase.regexp_like('identifier_value', regex.pattern) }}
    {%- endfor %}
),

blocklisted as (
    select
        identifier_key,
        2 as reason_rank,
        'blocklist' as exclusion_reason,
        min(reason) as exclusion_detail
    from blocklist_matches
    group by identifier_key
),

store_phones as (
    select
        identifiers.identifier_key,
        3 as reason_rank,
        'store_phone' as exclusion_reason,
        {{ dbt.concat(["'phone of store '", "min(stores.store_id)"]) }} as exclusion_detail
    from identifiers
    inner join stores
        on
            identifiers.identifier_type = 'phone'
            and identifiers.identifier_value = stores.phone
    group by identifiers.identifier_key
),

-- duplicate CRM contacts of one person agree on the birth date when both have one
conflicting_owners as (
    select
        identifiers.identifier_key,
        4 as reason_rank,
        'conflicting_owners' as exclusion_reason,
        {{ dbt.concat([
            "'carried by CRM contacts with '",
            "cast(count(distinct contacts.birth_date) as " ~ dbt.type_string() ~ ")",
            "' different birth dates'",
        ]) }} as exclusion_detail
    from observations
    inner join contacts
        on observations.record_id = contacts.contact_id
    inner join identifiers
        on
            observations.identifier_type = identifiers.identifier_type
            and observations.identifier_value = identifiers.identifier_value
    where
        observations.record_type = 'crm_contact'
        and observations.identifier_type <> 'crm_contact_id'
        and contacts.birth_date is not null
    group by identifiers.identifier_key
    having count(distinct contacts.birth_date) > 1
),

rule_excluded as (
    select identifier_key from invalid
    union
    select identifier_key from blocklisted
    union
    select identifier_key from store_phones
    union
    select identifier_key from conflicting_owners
),

-- the identifiers no rule excludes, with their type: the ends a clean link may have
linkable as (
    select
        identifiers.identifier_key,
        identifiers.identifier_type
    from identifiers
    left join rule_excluded
        on identifiers.identifier_key = rule_excluded.identifier_key
    where rule_excluded.identifier_key is null
),

-- distinct links between identifiers: the observed edges repeat per record (size L: 21.6M
-- edge records, 6.6M pairs), so they are made distinct once, each pair written lower key first
-- whatever way the edge model orders it (it never pairs an identifier with itself)
pairs as (
    select distinct
        least(identifier_key_a, identifier_key_b) as key_low,
        greatest(identifier_key_a, identifier_key_b) as key_high
    from edge_records
    where identifier_key_a <> identifier_key_b
),

-- both directions of every pair between two linkable identifiers: the two halves cannot
-- overlap (key_low < key_high), so a plain union all holds each (identifier, neighbour) once.
-- One distinct over the edges instead of one per direction and a third for their union: size
-- L's night 8.6 -> 6.3 s alone, same rows (benchmarks/README.md, session 43)
pairs_linkable as (
    select
        pairs.key_low,
        pairs.key_high,
        low_end.identifier_type as type_low,
        high_end.identifier_type as type_high
    from pairs
    inner join linkable as low_end
        on pairs.key_low = low_end.identifier_key
    inner join linkable as high_end
        on pairs.key_high = high_end.identifier_key
),

clean_links as (
    select
        key_low as identifier_key,
        key_high as neighbour_key,
        type_low as identifier_type,
        type_high as neighbour_type
    from pairs_linkable
    union all
    select
        key_high as identifier_key,
        key_low as neighbour_key,
        type_high as identifier_type,
        type_low as neighbour_type
    from pairs_linkable
),

-- never_link pairs, as identifier keys
never_link as (
    select
        identifier_key_a as key_a,
        identifier_key_b as key_b
    from override_pairs
    where override_type = 'never_link'
),

-- an identifier seen with both sides of a never_link pair is what glues them: drop it
never_link_bridges as (
    select
        link_a.neighbour_key as identifier_key,
        5 as reason_rank,
        'never_link_bridge' as exclusion_reason,
        'links two identifiers a data steward marked never_link' as exclusion_detail
    from never_link
    inner join clean_links as link_a
        on never_link.key_a = link_a.identifier_key
    inner join clean_links as link_b
        on
            never_link.key_b = link_b.identifier_key
            and link_a.neighbour_key = link_b.neighbour_key
    group by link_a.neighbour_key
),

neighbour_counts as (
    select
        identifier_key,
        identifier_type,
        neighbour_type,
        -- clean_links holds each (identifier, neighbour) once (`pairs` is distinct and each join
        -- finds at most one row), so rows count the distinct neighbours
        count(*) as neighbour_count
    from clean_links
    group by identifier_key, identifier_type, neighbour_type
),

hubs as (
    select
        identifier_key,
        6 as reason_rank,
        'hub' as exclusion_reason,
        {{ dbt.concat([
            "'linked to '", "cast(max(neighbour_count) as " ~ dbt.type_string() ~ ")",
            "' distinct identifiers of one type ('", "max(neighbour_type)", "')'",
        ]) }} as exclusion_detail
    from neighbour_counts
    where neighbour_count > {{ clientbase.identity_hub_limit('identifier_type', 'neighbour_type') }}
    group by identifier_key
),

all_reasons as (
    select * from invalid
    union all
    select * from blocklisted
    union all
    select * from store_phones
    union all
    select * from conflicting_owners
    union all
    select * from never_link_bridges
    union all
    select * from hubs
),

ranked as (
    select
        all_reasons.identifier_key,
        all_reasons.exclusion_reason,
        all_reasons.exclusion_detail,
        row_number() over (
            partition by all_reasons.identifier_key order by all_reasons.reason_rank
        ) as reason_number,
        count(*) over (partition by all_reasons.identifier_key) as reason_count
    from all_reasons
),

final as (
    select
        ranked.identifier_key,
        identifiers.identifier_type,
        identifiers.identifier_value,
        ranked.exclusion_reason,
        ranked.exclusion_detail,
        ranked.reason_count
    from ranked
    inner join identifiers
        on ranked.identifier_key = identifiers.identifier_key
    where ranked.reason_number = 1
)

select * from final
