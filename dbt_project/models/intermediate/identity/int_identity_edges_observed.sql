-- Candidate edges of the identity graph: two identifiers carried by the same source record,
-- one row per (pair of identifiers, record) so every link can be traced back to the records
-- that made it. Pairs are stored once, the lower identifier (type:value) first, so that nothing
-- downstream depends on the order in which keys were assigned. Nothing is filtered yet: junk, hubs
-- and overrides are applied in int_identity_edges_filtered.

with

observations as (
    select * from {{ ref('int_identifiers_unioned') }}
),

identifiers as (
    select * from {{ ref('int_identifiers_numbered') }}
),

keyed as (
    select
        observations.record_type,
        observations.record_id,
        observations.first_observed_at,
        identifiers.identifier_key,
        identifiers.identifier
    from observations
    inner join identifiers
        on
            observations.identifier_type = identifiers.identifier_type
            and observations.identifier_value = identifiers.identifier_value
),

pairs as (
    select
        left_side.identifier_key as identifier_key_a,
        right_side.identifier_key as identifier_key_b,
        left_side.identifier as identifier_a,
        right_side.identifier as identifier_b,
        left_side.record_type,
        left_side.record_id,
        least(left_side.first_observed_at, right_side.first_observed_at) as first_observed_at
    from keyed as left_side
    inner join keyed as right_side
        on
            left_side.record_type = right_side.record_type
            and left_side.record_id = right_side.record_id
            and left_side.identifier < right_side.identifier
),

final as (
    select
        {{ dbt.hash(dbt.concat([
            "identifier_a", "'|'", "identifier_b", "'|'",
            "record_type", "'|'", "record_id"])) }} as edge_record_id,
        identifier_key_a,
        identifier_key_b,
        record_type,
        record_id,
        first_observed_at
    from pairs
)

select * from final
