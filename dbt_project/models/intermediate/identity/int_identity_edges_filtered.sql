-- The edges the connected-components step runs on: observed links between two identifiers
-- neither of which is excluded, minus the pairs a steward marked never_link, plus the pairs a
-- steward marked same_person (those win over exclusions: a steward looked at them).
-- One row per undirected edge (lower identifier first, as in int_identity_edges_observed).

with

edge_records as (
    select * from {{ ref('int_identity_edges_observed') }}
),

excluded as (
    select * from {{ ref('int_identifiers_excluded') }}
),

override_pairs as (
    select * from {{ ref('int_identity_override_pairs') }}
),

observed as (
    select
        edge_records.identifier_key_a,
        edge_records.identifier_key_b,
        count(*) as record_count,
        min(edge_records.first_observed_at) as first_observed_at,
        min({{ dbt.concat(["edge_records.record_type", "':'", "edge_records.record_id"]) }}) as example_record
    from edge_records
    left join excluded as excluded_a
        on edge_records.identifier_key_a = excluded_a.identifier_key
    left join excluded as excluded_b
        on edge_records.identifier_key_b = excluded_b.identifier_key
    where excluded_a.identifier_key is null and excluded_b.identifier_key is null
    group by edge_records.identifier_key_a, edge_records.identifier_key_b
),

observed_allowed as (
    select observed.*
    from observed
    left join override_pairs
        on
            observed.identifier_key_a = override_pairs.identifier_key_a
            and observed.identifier_key_b = override_pairs.identifier_key_b
            and override_pairs.override_type = 'never_link'
    where override_pairs.identifier_key_a is null
),

same_person as (
    select
        identifier_key_a,
        identifier_key_b,
        min(override_id) as override_id,
        min(decided_at) as decided_at
    from override_pairs
    where override_type = 'same_person'
    group by identifier_key_a, identifier_key_b
),

final as (
    select
        coalesce(observed_allowed.identifier_key_a, same_person.identifier_key_a) as identifier_key_a,
        coalesce(observed_allowed.identifier_key_b, same_person.identifier_key_b) as identifier_key_b,
        case when same_person.identifier_key_a is not null then 'override' else 'observed' end as edge_source,
        coalesce(observed_allowed.record_count, 0) as record_count,
        coalesce(observed_allowed.first_observed_at, same_person.decided_at) as first_observed_at,
        coalesce(
            observed_allowed.example_record,
            {{ dbt.concat(["'identity_override:'", "same_person.override_id"]) }}
        ) as example_record
    from observed_allowed
    full outer join same_person
        on
            observed_allowed.identifier_key_a = same_person.identifier_key_a
            and observed_allowed.identifier_key_b = same_person.identifier_key_b
)

select
    {{ dbt.concat([
        "cast(identifier_key_a as " ~ dbt.type_string() ~ ")", "'-'",
        "cast(identifier_key_b as " ~ dbt.type_string() ~ ")"]) }} as edge_id,
    identifier_key_a,
    identifier_key_b,
    edge_source,
    record_count,
    first_observed_at,
    example_record
from final
