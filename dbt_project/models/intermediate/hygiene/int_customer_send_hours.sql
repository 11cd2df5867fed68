-- Best local send hour per customer: the hour of the day, in the customer's current (inferred)
-- time zone, at which they opened or clicked most messages in the last `send_hour_window_days`;
-- ties go to the later hour (evening sends are the retailer's habit). Customers with fewer than
-- `send_hour_min_events` opens/clicks get `default_send_hour`.

{%- set window_days = clientbase.hygiene_setting('send_hour_window_days') | int %}
{%- set min_events = clientbase.hygiene_setting('send_hour_min_events') | int %}
{%- set default_hour = clientbase.hygiene_setting('default_send_hour') | int %}

with

-- only the window's opens and clicks, by constant bounds on the timestamp
-- (macros/sales/as_of_date.sql): the join below meets those instead of every logged event
message_events as (
    select * from {{ ref('stg_messaging__events') }}
    where
        event_type in ('opened', 'clicked')
        and occurred_at >= {{ clientbase.as_of_timestamp(window_days) }}
        and occurred_at < {{ clientbase.as_of_timestamp() }}
),

source_records as (
    select * from {{ ref('int_source_records_resolved') }}
),

time_zones as (
    select * from {{ ref('int_customer_time_zones_inferred') }}
),

engagements as (
    select
        source_records.customer_id,
        time_zones.current_time_zone,
        {{ clientbase.utc_to_local('message_events.occurred_at', 'time_zones.current_time_zone') }} as local_at
    from message_events
    inner join source_records
        on
            source_records.record_type = 'messaging_address'
            and {{ dbt.concat(["message_events.channel", "':'", "message_events.address_raw"]) }}
            = source_records.record_id
    inner join time_zones on source_records.customer_id = time_zones.customer_id
    where time_zones.current_time_zone is not null
),

per_hour as (
    select
        customer_id,
        cast(extract(hour from local_at) as {{ dbt.type_int() }}) as local_hour,
        count(*) as hour_event_count
    from engagements
    group by 1, 2
),

ranked as (
    select
        *,
        sum(hour_event_count) over (partition by customer_id) as event_count,
        row_number() over (partition by customer_id order by hour_event_count desc, local_hour desc) as hour_rank
    from per_hour
),

final as (
    select
        time_zones.customer_id,
        time_zones.current_time_zone,
        coalesce(ranked.event_count, 0) as send_hour_event_count,
        case
            when coalesce(ranked.event_count, 0) >= {{ min_events }} then ranked.local_hour
            else {{ default_hour }}
        end as best_send_hour_local,
        case
            when coalesce(ranked.event_count, 0) >= {{ min_events }} then 'engagement_history'
            else 'default'
        end as send_hour_source
    from time_zones
    left join ranked on time_zones.customer_id = ranked.customer_id and ranked.hour_rank = 1
)

select * from final
