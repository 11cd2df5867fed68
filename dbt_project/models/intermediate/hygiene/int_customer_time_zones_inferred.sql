-- Stale time-zone rule. For every customer with a profile time zone or recent evidence:
--   weight of an evidence day = 0.5 ^ (age in days / half life), so a move a few weeks ago
--   outweighs months at home before it; a single-zone phone weighs `time_zone_phone_weight`;
--   inferred zone = the zone with the most weight; confidence = its share of all the weight;
--   stale = the profile has a zone, the inferred zone differs, at least
--   `time_zone_min_evidence_days` web/store days point to it, and the confidence is at least
--   `time_zone_min_confidence`.
-- The current zone used for sending is the inferred one when the profile is stale or missing
-- (and the evidence is as strong), else the profile's.

{%- set half_life = clientbase.hygiene_setting('time_zone_half_life_days') | float %}
{%- set phone_weight = clientbase.hygiene_setting('time_zone_phone_weight') | float %}
{%- set min_days = clientbase.hygiene_setting('time_zone_min_evidence_days') | int %}
{%- set min_confidence = clientbase.hygiene_setting('time_zone_min_confidence') | float %}

with

evidence as (
    select * from {{ ref('int_time_zone_evidence_unioned') }}
),

profiles as (
    select * from {{ ref('int_customer_profile_time_zones') }}
),

bounds as (
    select {{ clientbase.as_of_date() }} as as_of_date
),

aged as (
    select
        evidence.customer_id,
        evidence.time_zone,
        evidence.evidence_source,
        evidence.evidence_date,
        -- age 0 = the day before the as-of date
        {{ dbt.datediff('evidence.evidence_date', 'bounds.as_of_date', 'day') }} - 1 as age_days
    from evidence
    cross join bounds
),

weighted as (
    select
        customer_id,
        time_zone,
        evidence_source,
        evidence_date,
        case
            when evidence_source = 'phone' then {{ phone_weight }}
            else power(0.5, age_days / {{ half_life }})
        end as weight
    from aged
),

per_zone as (
    select
        customer_id,
        time_zone,
        sum(weight) as zone_weight,
        sum(case when evidence_source in ('web', 'store') then 1 else 0 end) as evidence_days,
        sum(case when evidence_source = 'web' then 1 else 0 end) as web_days,
        sum(case when evidence_source = 'store' then 1 else 0 end) as store_days,
        max(case when evidence_source = 'phone' then 1 else 0 end) as has_phone,
        max(case when evidence_source in ('web', 'store') then evidence_date end) as last_evidence_date
    from weighted
    group by customer_id, time_zone
),

ranked as (
    select
        *,
        row_number() over (
            partition by customer_id
            order by zone_weight desc, evidence_days desc, time_zone asc
        ) as zone_rank,
        sum(zone_weight) over (partition by customer_id) as total_weight,
        sum(evidence_days) over (partition by customer_id) as total_evidence_days,
        count(*) over (partition by customer_id) as zone_count
    from per_zone
),

inferred as (
    select * from ranked
    where zone_rank = 1
),

customers as (
    select customer_id from profiles
    union
    select customer_id from inferred
),

assessed as (
    select
        customers.customer_id,
        profiles.profile_time_zone,
        inferred.time_zone as inferred_time_zone,
        inferred.zone_weight / nullif(inferred.total_weight, 0) as confidence,
        coalesce(inferred.evidence_days, 0) as inferred_evidence_days,
        coalesce(inferred.web_days, 0) as inferred_web_days,
        coalesce(inferred.store_days, 0) as inferred_store_days,
        coalesce(inferred.has_phone, 0) = 1 as is_inferred_from_phone,
        coalesce(inferred.total_evidence_days, 0) as total_evidence_days,
        coalesce(inferred.zone_count, 0) as evidence_zone_count,
        inferred.last_evidence_date,
        coalesce(
            inferred.evidence_days >= {{ min_days }}
            and inferred.zone_weight / nullif(inferred.total_weight, 0) >= {{ min_confidence }},
            false
        ) as is_evidence_sufficient
    from customers
    left join profiles on customers.customer_id = profiles.customer_id
    left join inferred on customers.customer_id = inferred.customer_id
),

final as (
    select
        customer_id,
        profile_time_zone,
        inferred_time_zone,
        cast(round(confidence, 4) as {{ dbt.type_float() }}) as confidence,
        inferred_evidence_days,
        inferred_web_days,
        inferred_store_days,
        is_inferred_from_phone,
        total_evidence_days,
        evidence_zone_count,
        last_evidence_date,
        is_evidence_sufficient,
        coalesce(
            profile_time_zone is not null
            and is_evidence_sufficient
            and inferred_time_zone <> profile_time_zone,
            false
        ) as is_time_zone_stale,
        case
            when
                profile_time_zone is not null
                and is_evidence_sufficient
                and inferred_time_zone <> profile_time_zone
                then {{ dbt.concat([
                    "'profile '", "profile_time_zone", "', but '",
                    "cast(inferred_evidence_days as " ~ dbt.type_string() ~ ")",
                    "' recent web/store days point to '", "inferred_time_zone",
                    "' (confidence '",
                    "cast(round(confidence, 2) as " ~ dbt.type_string() ~ ")", "')'"
                ]) }}
        end as stale_time_zone_reason,
        case
            when is_evidence_sufficient then inferred_time_zone
            else coalesce(profile_time_zone, inferred_time_zone)
        end as current_time_zone,
        case
            when
                is_evidence_sufficient
                and (profile_time_zone is null or inferred_time_zone <> profile_time_zone)
                then 'inferred'
            when profile_time_zone is not null then 'profile'
            when inferred_time_zone is not null then 'weak_evidence'
        end as current_time_zone_source
    from assessed
)

select * from final
