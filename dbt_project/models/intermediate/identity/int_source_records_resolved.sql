-- Every source record with the customer it belongs to. Record keys follow the generator's
-- truth (`_truth/records.csv`): crm_contact, shop_order, pos_receipt, loyalty_card, web_cookie
-- (the cookie value), messaging_address (`<channel>:<address as exported>`), survey_response.
-- A record takes the customer of its linkable identifiers (the most person-specific one wins
-- if a steward's never_link split them); failing that, of an excluded identifier that belongs
-- to a single customer; a record with no usable identifier has a null customer_id.

-- Incremental by source record: a night recomputes the records staged since the newest stamp the
-- table holds and the records carrying an identifier whose resolution changed since then (a
-- merge, a split, a new exclusion), and keeps every other record's row
-- (macros/identity/identity_records_incremental.sql).

{{ clientbase.identity_records_config(resolution_changes=true, run_stamped=true) }}

{%- set since = clientbase.identity_records_changed_since() %}

with

{% if since is not none %}
    changed_records as (
        {{ clientbase.identity_model_changed_records(since) }}
    ),
{% endif %}

observations as (
    select unioned.*
    from {{ ref('int_identifiers_unioned') }} as unioned
    {%- if since is not none %}
        where exists (
            select 1
            from changed_records
            where
                changed_records.record_type = unioned.record_type
                and changed_records.record_id = unioned.record_id
        )
    {%- endif %}
),

resolved as (
    select * from {{ ref('int_identifiers_resolved') }}
),

-- every record of every source (macros/identity/identity_record_sources.sql), one row each
listed_records as (
    {%- for source in clientbase.identity_record_sources() %}
        select {% if source.summarised %}distinct {% endif %}
            {{ clientbase.identity_record_key(source.source_system) }}
        from {{ ref(source.model) }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

all_records as (
    select listed_records.*
    from listed_records
    {% if since is not none %}
        inner join (
            select distinct
                record_type,
                record_id
            from changed_records
        ) as changed
            on
                listed_records.record_type = changed.record_type
                and listed_records.record_id = changed.record_id
    {% endif %}
    where listed_records.record_id is not null
),

-- each record's identifiers with their customers, in one window pass per record: the preferred
-- candidate (a resolved customer first, then graph before attribute resolution, then the most
-- person-specific identifier type, then the value), how many identifiers the record carries,
-- and whether its graph-resolved identifiers belong to more than one customer (only when a
-- steward's never_link split them; min <> max, as Spark has no distinct window functions).
-- One pass instead of a ranking, two groupings and three joins back (size L: 23M observations,
-- 47 -> 36 s CPU, same rows).
candidates as (
    select
        observations.record_type,
        observations.record_id,
        resolved.customer_id,
        resolved.identifier_type,
        row_number() over by_preference as candidate_rank,
        count(*) over by_record as identifier_count,
        min(case when resolved.resolution_method = 'graph' then resolved.customer_id end)
            over by_record
        <> max(case when resolved.resolution_method = 'graph' then resolved.customer_id end)
            over by_record as is_split_by_override
    from observations
    -- every observed identifier has its row in resolved (null customer when unresolved)
    left join resolved
        on
            observations.identifier_type = resolved.identifier_type
            and observations.identifier_value = resolved.identifier_value
    window
        by_record as (partition by observations.record_type, observations.record_id),
        by_preference as (
            partition by observations.record_type, observations.record_id
            order by
                case when resolved.customer_id is null then 1 else 0 end,
                case when resolved.resolution_method = 'graph' then 0 else 1 end,
                {{ clientbase.identity_type_rank('resolved.identifier_type') }},
                resolved.identifier_value
        )
),

chosen as (
    select * from candidates
    where candidate_rank = 1
),

final as (
    select
        {{ dbt.concat(["all_records.record_type", "':'", "all_records.record_id"]) }} as source_record_id,
        all_records.source_system,
        all_records.record_type,
        all_records.record_id,
        chosen.customer_id,
        case
            when chosen.customer_id is not null then chosen.identifier_type
        end as resolved_via_identifier_type,
        coalesce(chosen.identifier_count, 0) as identifier_count,
        coalesce(chosen.is_split_by_override, false) as is_split_by_override,
        -- the run that computed the record's row
        {{ clientbase.staged_at() }} as _staged_at
    from all_records
    left join chosen
        on
            all_records.record_type = chosen.record_type
            and all_records.record_id = chosen.record_id
)

select * from final
