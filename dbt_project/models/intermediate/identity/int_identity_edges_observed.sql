{{ clientbase.identity_records_config() }}

-- Candidate edges of the identity graph: two identifiers carried by the same source record,
-- one row per (pair of identifiers, record) so every link can be traced back to the records
-- that made it. Pairs are stored once, the lower identifier (type:value) first, so that nothing
-- downstream depends on the order in which keys were assigned. Nothing is filtered yet: junk, hubs
-- and overrides are applied in int_identity_edges_filtered.

-- Incremental by source record, like int_identifiers_unioned: a night recomputes the pairs of the
-- records staged since the newest stamp the table holds
-- (macros/identity/identity_records_incremental.sql).
-- Keys come from int_identifier_keys, assigned once and never changed, so the rows kept for
-- unchanged records stay valid.

-- The changed records are listed from the inputs of int_identifiers_unioned (a record that lost
-- every identifier has no row there, but its edges must go):
{%- for source in clientbase.identity_record_sources() %}
-- depends_on: {{ ref(source.model) }}
{%- endfor %}

{%- set since = clientbase.identity_records_changed_since() %}

with

observations as (
    select * from {{ ref('int_identifiers_unioned') }}
),

identifier_keys as (
    select * from {{ ref('int_identifier_keys') }}
),

changed_observations as (
    select observations.*
    from observations
    {%- if since is not none %}
        inner join ({{ clientbase.identity_model_changed_records(since) }}) as changed_records
            on
                observations.record_type = changed_records.record_type
                and observations.record_id = changed_records.record_id
    {%- endif %}
),

keyed as (
    select
        changed_observations.record_type,
        changed_observations.record_id,
        changed_observations.first_observed_at,
        changed_observations._staged_at,
        identifier_keys.identifier_key,
        {{ dbt.concat(["identifier_keys.identifier_type", "':'", "identifier_keys.identifier_value"]) }}
            as identifier
    from changed_observations
    inner join identifier_keys
        on
            changed_observations.identifier_type = identifier_keys.identifier_type
            and changed_observations.identifier_value = identifier_keys.identifier_value
),

pairs as (
    select
        left_side.identifier_key as identifier_key_a,
        right_side.identifier_key as identifier_key_b,
        left_side.identifier as identifier_a,
        right_side.identifier as identifier_b,
        left_side.record_type,
        left_side.record_id,
        least(left_side.first_observed_at, right_side.first_observed_at) as first_observed_at,
        greatest(left_side._staged_at, right_side._staged_at) as _staged_at
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
        first_observed_at,
        -- when a run last staged the record: what a night's run compares with
        _staged_at
    from pairs
)

select * from final
