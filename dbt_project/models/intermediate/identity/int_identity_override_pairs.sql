-- The steward decisions of the identity_overrides seed on the identifier keys: one row per
-- decision whose two identifiers are both known, the pair written lower identifier first, as in
-- int_identity_edges_observed. Decisions about an identifier no record carries yet wait here
-- until one does (the seed's identity_overrides_known test lists them).

with

overrides as (
    select * from {{ ref('identity_overrides') }}
),

identifiers as (
    select * from {{ ref('int_identifiers_numbered') }}
),

final as (
    select
        overrides.override_id,
        overrides.override_type,
        case
            when side_a.identifier < side_b.identifier then side_a.identifier_key
            else side_b.identifier_key
        end as identifier_key_a,
        case
            when side_a.identifier < side_b.identifier then side_b.identifier_key
            else side_a.identifier_key
        end as identifier_key_b,
        overrides.decided_at
    from overrides
    inner join identifiers as side_a
        on
            overrides.identifier_type_a = side_a.identifier_type
            and overrides.identifier_value_a = side_a.identifier_value
    inner join identifiers as side_b
        on
            overrides.identifier_type_b = side_b.identifier_type
            and overrides.identifier_value_b = side_b.identifier_value
    where side_a.identifier_key <> side_b.identifier_key
)

select * from final
