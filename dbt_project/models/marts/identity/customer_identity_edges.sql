-- Why a customer is who they are: every link between two identifiers that touches the
-- customer, with the source record that made it and whether it was used for linking.
-- `is_linking` is false when an end was excluded (junk, hub, invalid, never_link bridge) or a
-- steward marked the pair never_link; `not_linking_reason` says which. Steward same_person
-- decisions appear with record_type `identity_override`. A link between two different
-- customers (only possible when it was not used) is listed under both. `override_id` names the
-- steward decision about the pair, if any.

-- Kept by source record, like the identity models it reads
-- (macros/identity/identity_records_incremental.sql): a night recomputes the rows of the records
-- staged since the newest stamp the table holds, of the records carrying an identifier whose
-- resolution changed since then (a merge, a split, a new exclusion: the customer and the reason
-- of an end), of the records carrying a pair a steward decided on, and of the records a decision
-- applied to at the last run; every other row stays. The steward's same_person links no record
-- carries are recomputed on every run (a few rows). Size L: 21M rows, ~46 s CPU rebuilt whole.

{{ clientbase.identity_records_config(resolution_changes=true, steward_decisions=true, run_stamped=true) }}

-- The changed records are listed from the record sources and the observations:
{%- for source in clientbase.identity_record_sources() %}
-- depends_on: {{ ref(source.model) }}
{%- endfor %}
-- depends_on: {{ ref('int_identifiers_unioned') }}

{%- set since = clientbase.identity_records_changed_since() %}

with

{% if since is not none %}
    changed_records as (
        {{ clientbase.identity_model_changed_records(since) }}
    ),
{% endif %}

edge_records as (
    select observed.*
    from {{ ref('int_identity_edges_observed') }} as observed
    {%- if since is not none %}
        where exists (
            select 1
            from changed_records
            where
                changed_records.record_type = observed.record_type
                and changed_records.record_id = observed.record_id
        )
    {%- endif %}
),

filtered_edges as (
    select * from {{ ref('int_identity_edges_filtered') }}
),

resolved as (
    select * from {{ ref('int_identifiers_resolved') }}
),

override_pairs as (
    select * from {{ ref('int_identity_override_pairs') }}
),

-- the steward decision about each decided pair (the first, should there be two)
decided_pairs as (
    select
        identifier_key_a,
        identifier_key_b,
        min(override_id) as override_id
    from override_pairs
    group by identifier_key_a, identifier_key_b
),

-- every edge record plus the steward's same_person links no record carries, with whether it
-- was used for linking
keyed_edges as (
    select
        edge_records.edge_record_id,
        edge_records.identifier_key_a,
        edge_records.identifier_key_b,
        edge_records.record_type,
        edge_records.record_id,
        edge_records.first_observed_at,
        filtered_edges.edge_id is not null as is_linking
    from edge_records
    left join filtered_edges
        on
            edge_records.identifier_key_a = filtered_edges.identifier_key_a
            and edge_records.identifier_key_b = filtered_edges.identifier_key_b
    union all
    select
        {{ dbt.hash("example_record") }} as edge_record_id,
        identifier_key_a,
        identifier_key_b,
        'identity_override' as record_type,
        {{ dbt.replace("example_record", "'identity_override:'", "''") }} as record_id,
        first_observed_at,
        true as is_linking
    from filtered_edges
    where edge_source = 'override' and record_count = 0
),

-- both ends resolved once (the identifiers, their customers and why an end was excluded)
ended as (
    select
        keyed_edges.edge_record_id,
        keyed_edges.record_type,
        keyed_edges.record_id,
        keyed_edges.first_observed_at,
        keyed_edges.is_linking,
        decided_pairs.override_id,
        case
            when keyed_edges.is_linking then null
            when end_a.is_excluded
                then {{ dbt.concat(["end_a.identifier", "' excluded: '", "end_a.exclusion_reason"]) }}
            when end_b.is_excluded
                then {{ dbt.concat(["end_b.identifier", "' excluded: '", "end_b.exclusion_reason"]) }}
            else 'never_link override'
        end as not_linking_reason,
        end_a.identifier_type as identifier_type_a,
        end_a.identifier_value as identifier_value_a,
        end_a.customer_id as customer_id_a,
        end_b.identifier_type as identifier_type_b,
        end_b.identifier_value as identifier_value_b,
        end_b.customer_id as customer_id_b
    from keyed_edges
    inner join resolved as end_a
        on keyed_edges.identifier_key_a = end_a.identifier_key
    inner join resolved as end_b
        on keyed_edges.identifier_key_b = end_b.identifier_key
    left join decided_pairs
        on
            keyed_edges.identifier_key_a = decided_pairs.identifier_key_a
            and keyed_edges.identifier_key_b = decided_pairs.identifier_key_b
),

-- one row per edge and customer it touches: end a's customer, and end b's when it is another.
-- One pass over `ended` with both ends, not a union of two selects from it: DuckDB would store
-- the 21M joined rows for its two readers first (size L: ~37 -> ~31 s CPU, same rows).
edge_ends as (
    select 'a' as edge_end
    union all
    select 'b' as edge_end
),

by_customer as (
    select
        ended.*,
        case
            when edge_ends.edge_end = 'a' then ended.customer_id_a else ended.customer_id_b
        end as customer_id
    from ended
    cross join edge_ends
    where
        (edge_ends.edge_end = 'a' and ended.customer_id_a is not null)
        or (
            edge_ends.edge_end = 'b'
            and ended.customer_id_b is not null
            and (ended.customer_id_a is null or ended.customer_id_b <> ended.customer_id_a)
        )
),

final as (
    select
        {{ dbt.hash(dbt.concat(["edge_record_id", "'|'", "customer_id"])) }}
            as customer_identity_edge_id,
        customer_id,
        identifier_type_a,
        identifier_value_a,
        identifier_type_b,
        identifier_value_b,
        record_type,
        record_id,
        first_observed_at,
        is_linking,
        not_linking_reason,
        override_id,
        -- the run that computed the row: what a night's run compares with
        {{ clientbase.staged_at() }} as _staged_at
    from by_customer
)

select * from final
