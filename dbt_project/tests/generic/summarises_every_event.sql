{#-
    An event summary accounts for every event of its log exactly once: the sum of its
    `observation_count` equals the number of events. A merge that counted a night twice, or
    missed a load, fails here (macros/staging/event_summaries.sql).
-#}
{% test summarises_every_event(model, events, count_column='observation_count') %}

with

summarised as (
    select cast(coalesce(sum({{ count_column }}), 0) as {{ dbt.type_bigint() }}) as event_count
    from {{ model }}
),

logged as (
    select cast(count(*) as {{ dbt.type_bigint() }}) as event_count
    from {{ events }}
)

select
    summarised.event_count as summarised_events,
    logged.event_count as logged_events
from summarised
cross join logged
where summarised.event_count <> logged.event_count

{% endtest %}
