{{ clientbase.upsert_config(unique_key='identifier_key', run_stamped=true) }}
{{ config(post_hook="{{ clientbase.identity_resolved_post_hook() }}") }}

-- Every identifier with the customer it resolved to. The customer id is the hash of the
-- component's earliest identifier (first seen, then type rank, then value): it stays the same
-- from one build to the next as long as that identifier stays in the cluster, and when two
-- clusters merge the older one's id survives - it is derived from data, never a row number.
-- Excluded identifiers (junk, hubs) link nobody; they still resolve to a customer when every
-- record they were seen on points to one and the same customer, else customer_id is null.
--
-- Kept by identifier, with the run that last changed its resolution: the whole graph is resolved
-- every night (one new edge can merge two old customers), but only the identifiers whose row
-- differs from the one held are written, and `_resolution_changed_at` moves only when the
-- customer, the resolution method or the exclusion changed. The models kept by record that
-- depend on the resolution (int_source_records_resolved) recompute the records of those
-- identifiers and nothing else (macros/identity/identity_records_incremental.sql). A post-hook
-- deletes the identifiers no record carries any more. Every row written carries the run's start,
-- `_staged_at`, whatever changed in it: dim_contacts and dim_customers recompute the identifiers
-- and customers of those rows (macros/identity/dimensions_incremental.sql).

with

identifiers as (
    select * from {{ ref('int_identifiers_numbered') }}
),

components as (
    select * from {{ ref('int_identity_components') }}
),

excluded as (
    select * from {{ ref('int_identifiers_excluded') }}
),

edge_records as (
    select * from {{ ref('int_identity_edges_observed') }}
),

component_members as (
    select
        components.component_id,
        identifiers.identifier_key,
        identifiers.identifier,
        row_number() over (
            partition by components.component_id
            order by
                identifiers.first_seen_at,
                {{ clientbase.identity_type_rank('identifiers.identifier_type') }},
                identifiers.identifier_value
        ) as age_rank,
        count(*) over (partition by components.component_id) as component_size
    from components
    inner join identifiers
        on components.node_id = identifiers.identifier_key
),

customers as (
    select
        component_id,
        identifier as anchor_identifier,
        {{ dbt.hash('identifier') }} as customer_id,
        component_size
    from component_members
    where age_rank = 1
),

linked as (
    select
        component_members.identifier_key,
        customers.customer_id,
        customers.anchor_identifier,
        customers.component_size
    from component_members
    inner join customers
        on component_members.component_id = customers.component_id
),

-- excluded identifiers: the customers of the identifiers they were seen with
excluded_neighbours as (
    select
        excluded.identifier_key,
        linked.customer_id
    from excluded
    inner join edge_records
        on excluded.identifier_key = edge_records.identifier_key_a
    inner join linked
        on edge_records.identifier_key_b = linked.identifier_key
    union
    select
        excluded.identifier_key,
        linked.customer_id
    from excluded
    inner join edge_records
        on excluded.identifier_key = edge_records.identifier_key_b
    inner join linked
        on edge_records.identifier_key_a = linked.identifier_key
),

excluded_attached as (
    select
        identifier_key,
        min(customer_id) as customer_id
    from excluded_neighbours
    group by identifier_key
    having count(distinct customer_id) = 1
),

final as (
    select
        identifiers.identifier_key,
        identifiers.identifier_type,
        identifiers.identifier_value,
        identifiers.identifier,
        identifiers.is_valid,
        identifiers.first_seen_at,
        identifiers.last_seen_at,
        identifiers.record_count,
        identifiers.source_systems,
        coalesce(linked.customer_id, excluded_attached.customer_id) as customer_id,
        linked.anchor_identifier,
        linked.component_size,
        excluded.identifier_key is not null as is_excluded,
        excluded.exclusion_reason,
        excluded.exclusion_detail,
        case
            when linked.customer_id is not null then 'graph'
            when excluded_attached.customer_id is not null then 'attribute_of_single_customer'
            else 'unresolved'
        end as resolution_method
    from identifiers
    left join linked
        on identifiers.identifier_key = linked.identifier_key
    left join excluded_attached
        on identifiers.identifier_key = excluded_attached.identifier_key
    left join excluded
        on identifiers.identifier_key = excluded.identifier_key
),

{%- set resolution_columns = ['customer_id', 'resolution_method', 'is_excluded',
                              'exclusion_reason'] %}

{% if is_incremental() %}
    {#- every column the table holds but the two stamps (on_schema_change fail: the same as
        final's) #}
    {%- set held_columns = adapter.get_columns_in_relation(this) | map(attribute='name')
        | reject('in', ['_resolution_changed_at', '_staged_at']) | list %}
    held as (
        select * from {{ this }}
    ),
{% endif %}

-- tonight's row of every identifier whose row differs from the one held, with this run's start
-- as _staged_at, and as _resolution_changed_at when its resolution changed (or it is new; else
-- the resolution stamp it had)
stamped as (
    select
        final.*,
        {%- if is_incremental() %}
            case
                when
                    held.identifier_key is null
                    or {{ clientbase.any_column_differs('final', 'held', resolution_columns) }}
                    then {{ clientbase.staged_at() }}
                else held._resolution_changed_at
            end as _resolution_changed_at
        {%- else %}
            {{ clientbase.staged_at() }} as _resolution_changed_at
        {%- endif %},
        {{ clientbase.staged_at() }} as _staged_at
    from final
    {% if is_incremental() %}
        left join held
            on final.identifier_key = held.identifier_key
        where
            held.identifier_key is null
            or {{ clientbase.any_column_differs('final', 'held', held_columns) }}
    {% endif %}
)

select * from stamped
