-- Why a customer is who they are: every link between two identifiers that touches the
-- customer, with the source record that made it and whether it was used for linking.
-- `is_linking` is false when an end was excluded (junk, hub, invalid, never_link bridge) or a
-- steward marked the pair never_link; `not_linking_reason` says which. Steward same_person
-- decisions appear with record_type `identity_override`. A link between two different
-- customers (only possible when it was not used) is listed under both.

with

edge_records as (
    select * from {{ ref('int_identity_edges_observed') }}
),

filtered_edges as (
    select * from {{ ref('int_identity_edges_filtered') }}
),

resolved as (
    select * from {{ ref('int_identifiers_resolved') }}
),

observed as (
    select
        edge_records.edge_record_id,
        edge_records.identifier_key_a,
        edge_records.identifier_key_b,
        edge_records.record_type,
        edge_records.record_id,
        edge_records.first_observed_at,
        filtered_edges.edge_id is not null as is_linking,
        case
            when filtered_edges.edge_id is not null then null
            when end_a.is_excluded
                then {{ dbt.concat(["end_a.identifier", "' excluded: '", "end_a.exclusion_reason"]) }}
            when end_b.is_excluded
                then {{ dbt.concat(["end_b.identifier", "' excluded: '", "end_b.exclusion_reason"]) }}
            else 'never_link override'
        end as not_linking_reason
    from edge_records
    inner join resolved as end_a
        on edge_records.identifier_key_a = end_a.identifier_key
    inner join resolved as end_b
        on edge_records.identifier_key_b = end_b.identifier_key
    left join filtered_edges
        on
            edge_records.identifier_key_a = filtered_edges.identifier_key_a
            and edge_records.identifier_key_b = filtered_edges.identifier_key_b
),

overrides as (
    select
        {{ dbt.hash("filtered_edges.example_record") }} as edge_record_id,
        filtered_edges.identifier_key_a,
        filtered_edges.identifier_key_b,
        'identity_override' as record_type,
        {{ dbt.replace("filtered_edges.example_record", "'identity_override:'", "''") }} as record_id,
        filtered_edges.first_observed_at,
        true as is_linking,
        cast(null as {{ dbt.type_string() }}) as not_linking_reason
    from filtered_edges
    where filtered_edges.edge_source = 'override' and filtered_edges.record_count = 0
),

all_edges as (
    select * from observed
    union all
    select * from overrides
),

by_customer as (
    select
        all_edges.*,
        end_a.customer_id
    from all_edges
    inner join resolved as end_a
        on all_edges.identifier_key_a = end_a.identifier_key
    where end_a.customer_id is not null
    union
    select
        all_edges.*,
        end_b.customer_id
    from all_edges
    inner join resolved as end_b
        on all_edges.identifier_key_b = end_b.identifier_key
    where end_b.customer_id is not null
),

final as (
    select
        {{ dbt.hash(dbt.concat(["by_customer.edge_record_id", "'|'", "by_customer.customer_id"])) }}
            as customer_identity_edge_id,
        by_customer.customer_id,
        end_a.identifier_type as identifier_type_a,
        end_a.identifier_value as identifier_value_a,
        end_b.identifier_type as identifier_type_b,
        end_b.identifier_value as identifier_value_b,
        by_customer.record_type,
        by_customer.record_id,
        by_customer.first_observed_at,
        by_customer.is_linking,
        by_customer.not_linking_reason
    from by_customer
    inner join resolved as end_a
        on by_customer.identifier_key_a = end_a.identifier_key
    inner join resolved as end_b
        on by_customer.identifier_key_b = end_b.identifier_key
)

select
    customer_identity_edge_id,
    customer_id,
    identifier_type_a,
    identifier_value_a,
    identifier_type_b,
    identifier_value_b,
    record_type,
    record_id,
    first_observed_at,
    is_linking,
    not_linking_reason
from final
