{{ config(materialized='connected_components') }}
-- Connected components of the filtered identity graph (see macros/identity/connected_components.sql:
-- randomised contraction in a logarithmic number of rounds, capped by
-- var identity_components_max_rounds). Input: the filtered edges plus every identifier that is
-- not excluded as a self-loop, so identifiers seen alone still form their own component.
-- Output: identifier_key (node_id) → component_id (smallest key of the component).

with

edges as (
    select * from {{ ref('int_identity_edges_filtered') }}
),

identifiers as (
    select * from {{ ref('int_identifiers_numbered') }}
),

excluded as (
    select * from {{ ref('int_identifiers_excluded') }}
),

linkable as (
    select identifiers.identifier_key
    from identifiers
    left join excluded
        on identifiers.identifier_key = excluded.identifier_key
    where excluded.identifier_key is null
),

final as (
    select
        identifier_key_a as node_a,
        identifier_key_b as node_b
    from edges
    union all
    select
        identifier_key as node_a,
        identifier_key as node_b
    from linkable
)

select * from final
