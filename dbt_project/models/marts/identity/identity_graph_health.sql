{{ config(
    materialized='incremental',
    unique_key='build_id',
    on_schema_change='fail',
) }}
-- One row per build: the shape of the identity graph (how many customers, how big the biggest,
-- share of singletons, identifiers excluded and why, rounds the components loop needed) and
-- how it moved against the previous build. The Dagster graph-health asset checks and the
-- blocking test on customer_count_change_share read it.

{%- set rounds_log = adapter.get_relation(
    database=this.database, schema=ref('int_identity_components').schema,
    identifier='identity_component_rounds') %}

with

resolved as (
    select * from {{ ref('int_identifiers_resolved') }}
),

changes as (
    select * from {{ ref('identity_changes') }}
    where build_id = {{ clientbase.identity_build_id() }}
),

customer_sizes as (
    select
        customer_id,
        count(*) as identifier_count
    from resolved
    where customer_id is not null and resolution_method = 'graph'
    group by customer_id
),

largest as (
    select
        customer_id,
        identifier_count
    from (
        select
            *,
            row_number() over (order by identifier_count desc, customer_id asc) as size_rank
        from customer_sizes
    ) as ranked
    where size_rank = 1
),

customer_stats as (
    select
        count(*) as customer_count,
        sum(case when identifier_count = 1 then 1 else 0 end) as singleton_customer_count
    from customer_sizes
),

identifier_stats as (
    select
        count(*) as identifier_count,
        sum(case when is_excluded then 1 else 0 end) as excluded_identifier_count,
        sum(case when exclusion_reason = 'invalid_format' then 1 else 0 end) as excluded_invalid_count,
        sum(case when exclusion_reason = 'blocklist' then 1 else 0 end) as excluded_blocklist_count,
        sum(case when exclusion_reason = 'store_phone' then 1 else 0 end) as excluded_store_phone_count,
        sum(case when exclusion_reason = 'hub' then 1 else 0 end) as excluded_hub_count,
        sum(case when exclusion_reason = 'never_link_bridge' then 1 else 0 end) as excluded_never_link_count,
        sum(case when customer_id is null then 1 else 0 end) as unresolved_identifier_count
    from resolved
),

change_stats as (
    select
        sum(case when change_type = 'merge' then 1 else 0 end) as merge_count,
        sum(case when change_type = 'split' then 1 else 0 end) as split_count,
        sum(case when change_type = 'id_changed' then 1 else 0 end) as id_changed_count
    from changes
),

rounds as (
    {%- if rounds_log is not none %}
    -- no row: an incremental update with no new link between clusters needed no round
    select coalesce(max(round_number), 0) as component_rounds
    from {{ rounds_log }}
    where invocation_id = {{ clientbase.identity_build_id() }} and model_name = 'int_identity_components'
    {%- else %}
        select cast(null as {{ dbt.type_int() }}) as component_rounds
    {%- endif %}
),

{% if is_incremental() %}
    previous as (
        select customer_count as previous_customer_count
        from (
            select
                customer_count,
                row_number() over (order by built_at desc, build_id desc) as recency
            from {{ this }}
            where build_id <> {{ clientbase.identity_build_id() }}
        ) as ranked
        where recency = 1
    ),
{% else %}
previous as (
    select cast(null as {{ dbt.type_bigint() }}) as previous_customer_count
),
{% endif %}

final as (
    select
        {{ clientbase.identity_build_id() }} as build_id,
        {{ clientbase.identity_built_at() }} as built_at,
        cast(identifier_stats.identifier_count as {{ dbt.type_bigint() }}) as identifier_count,
        cast(identifier_stats.excluded_identifier_count as {{ dbt.type_bigint() }}) as excluded_identifier_count,
        cast(identifier_stats.excluded_invalid_count as {{ dbt.type_bigint() }}) as excluded_invalid_count,
        cast(identifier_stats.excluded_blocklist_count as {{ dbt.type_bigint() }}) as excluded_blocklist_count,
        cast(identifier_stats.excluded_store_phone_count as {{ dbt.type_bigint() }}) as excluded_store_phone_count,
        cast(identifier_stats.excluded_hub_count as {{ dbt.type_bigint() }}) as excluded_hub_count,
        cast(identifier_stats.excluded_never_link_count as {{ dbt.type_bigint() }}) as excluded_never_link_count,
        cast(identifier_stats.unresolved_identifier_count as {{ dbt.type_bigint() }}) as unresolved_identifier_count,
        cast(customer_stats.customer_count as {{ dbt.type_bigint() }}) as customer_count,
        cast(customer_stats.singleton_customer_count as {{ dbt.type_bigint() }}) as singleton_customer_count,
        cast(
            case when customer_stats.customer_count > 0
                    then 1.0 * customer_stats.singleton_customer_count / customer_stats.customer_count
            end as {{ dbt.type_float() }}
        ) as singleton_share,
        cast(largest.identifier_count as {{ dbt.type_bigint() }}) as largest_customer_size,
        largest.customer_id as largest_customer_id,
        cast(rounds.component_rounds as {{ dbt.type_int() }}) as component_rounds,
        cast(coalesce(change_stats.merge_count, 0) as {{ dbt.type_bigint() }}) as merge_count,
        cast(coalesce(change_stats.split_count, 0) as {{ dbt.type_bigint() }}) as split_count,
        cast(coalesce(change_stats.id_changed_count, 0) as {{ dbt.type_bigint() }}) as id_changed_count,
        cast(previous.previous_customer_count as {{ dbt.type_bigint() }}) as previous_customer_count,
        cast(
            case when previous.previous_customer_count > 0
                    then abs(customer_stats.customer_count - previous.previous_customer_count)
                        * 1.0 / previous.previous_customer_count
            end as {{ dbt.type_float() }}
        ) as customer_count_change_share
    from identifier_stats
    cross join customer_stats
    cross join change_stats
    cross join rounds
    cross join previous
    left join largest on 1 = 1
)

select * from final
