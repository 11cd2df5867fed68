-- depends_on: {{ ref('int_web_identifier_sets') }}
-- depends_on: {{ ref('int_message_addresses_summarised') }}
-- Last activity of each kind per customer before the as-of date, and when the customer was
-- first collected (earliest CRM contact, else first activity). Kinds: order (web shop), store
-- purchase (till receipt), visit (web event), open and click (messaging), survey (form answer);
-- which kinds count as "activity" is the `hygiene.activity_kinds` setting.

{%- set kinds = var('hygiene')['activity_kinds'] %}
{%- set kind_list = "'" ~ kinds | join("', '") ~ "'" %}
{%- set known_kinds = ['order', 'store_purchase', 'visit', 'open', 'click', 'survey'] %}
{%- for kind in kinds if kind not in known_kinds %}
    {{ exceptions.raise_compiler_error("hygiene.activity_kinds: unknown kind '" ~ kind ~ "', known: " ~ known_kinds | join(', ')) }}
{%- endfor %}

with

orders as (
    select * from {{ ref('stg_shop__orders') }}
),

receipts as (
    select * from {{ ref('stg_pos__receipts') }}
),

survey_responses as (
    select * from {{ ref('stg_surveys__responses') }}
),

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
),

source_records as (
    select * from {{ ref('int_source_records_resolved') }}
),

bounds as (
    select {{ clientbase.as_of_date() }} as as_of_date
),

-- web visits and messaging engagement, per record before they meet the records: one row per
-- cookie or address and kind instead of one per event (size L: 39M web and 30M messaging
-- events). When every logged event lies before the as-of date (a normal night) the logs'
-- summaries have these aggregates already; otherwise the events before it are read.
{%- if clientbase.event_summary_before_as_of(ref('int_web_identifier_sets'))
      and clientbase.event_summary_before_as_of(ref('int_message_addresses_summarised')) %}
    web_identifier_sets as (
        select * from {{ ref('int_web_identifier_sets') }}
    ),

    message_addresses as (
        select * from {{ ref('int_message_addresses_summarised') }}
    ),

    web_visits as (
        select
            anonymous_id,
            min(first_occurred_at) as first_active_at,
            max(last_occurred_at) as last_active_at
        from web_identifier_sets
        group by anonymous_id
    ),

    message_engagement as (
        select
            channel,
            address_raw,
            case event_type when 'opened' then 'open' else 'click' end as activity_kind,
            min(first_occurred_at) as first_active_at,
            max(last_occurred_at) as last_active_at
        from message_addresses
        where event_type in ('opened', 'clicked')
        group by channel, address_raw, event_type
    ),
{%- else %}
    web_events as (
        select * from {{ ref('stg_web__events') }}
    ),

    message_events as (
        select * from {{ ref('stg_messaging__events') }}
    ),

    web_visits as (
        select
            web_events.anonymous_id,
            min(web_events.occurred_at) as first_active_at,
            max(web_events.occurred_at) as last_active_at
        from web_events
        cross join bounds
        where cast(web_events.occurred_at as date) < bounds.as_of_date
        group by web_events.anonymous_id
    ),

    engagement_events as (
        select
            message_events.channel,
            message_events.address_raw,
            message_events.occurred_at,
            case message_events.event_type when 'opened' then 'open' else 'click' end as activity_kind
        from message_events
        cross join bounds
        where
            message_events.event_type in ('opened', 'clicked')
            and cast(message_events.occurred_at as date) < bounds.as_of_date
    ),

    message_engagement as (
        select
            engagement_events.channel,
            engagement_events.address_raw,
            engagement_events.activity_kind,
            min(engagement_events.occurred_at) as first_active_at,
            max(engagement_events.occurred_at) as last_active_at
        from engagement_events
        group by
            engagement_events.channel,
            engagement_events.address_raw,
            engagement_events.activity_kind
    ),
{%- endif %}

-- one row per record and kind of activity, with its first and last time
activity as (
    select
        source_records.customer_id,
        'order' as activity_kind,
        orders.ordered_at as first_active_at,
        orders.ordered_at as last_active_at
    from orders
    inner join source_records
        on source_records.record_type = 'shop_order' and orders.order_id = source_records.record_id
    union all
    -- till time is store-local; a day's precision is all the rule needs
    select
        source_records.customer_id,
        'store_purchase' as activity_kind,
        receipts.purchased_at_local as first_active_at,
        receipts.purchased_at_local as last_active_at
    from receipts
    inner join source_records
        on source_records.record_type = 'pos_receipt' and receipts.receipt_id = source_records.record_id
    union all
    select
        source_records.customer_id,
        'visit' as activity_kind,
        web_visits.first_active_at,
        web_visits.last_active_at
    from web_visits
    inner join source_records
        on source_records.record_type = 'web_cookie' and web_visits.anonymous_id = source_records.record_id
    union all
    select
        source_records.customer_id,
        message_engagement.activity_kind,
        message_engagement.first_active_at,
        message_engagement.last_active_at
    from message_engagement
    inner join source_records
        on
            source_records.record_type = 'messaging_address'
            and {{ dbt.concat(["message_engagement.channel", "':'", "message_engagement.address_raw"]) }}
            = source_records.record_id
    union all
    select
        source_records.customer_id,
        'survey' as activity_kind,
        survey_responses.submitted_at as first_active_at,
        survey_responses.submitted_at as last_active_at
    from survey_responses
    inner join source_records
        on
            source_records.record_type = 'survey_response'
            and survey_responses.response_id = source_records.record_id
),

activity_before_as_of as (
    select activity.*
    from activity
    cross join bounds
    where
        activity.customer_id is not null
        and cast(activity.first_active_at as date) < bounds.as_of_date
),

per_customer as (
    select
        customer_id,
        {%- for kind in known_kinds %}
            max(case when activity_kind = '{{ kind }}' then last_active_at end) as last_{{ kind }}_at,
        {%- endfor %}
        max(case when activity_kind in ({{ kind_list }}) then last_active_at end) as last_activity_at,
        min(case when activity_kind in ({{ kind_list }}) then first_active_at end) as first_activity_at
    from activity_before_as_of
    group by customer_id
),

collected as (
    select
        source_records.customer_id,
        min(contacts.created_at) as first_contact_created_at,
        count(distinct contacts.contact_id) as crm_contact_count
    from contacts
    inner join source_records
        on source_records.record_type = 'crm_contact' and contacts.contact_id = source_records.record_id
    where source_records.customer_id is not null
    group by source_records.customer_id
),

customers as (
    select distinct customer_id from source_records
    where customer_id is not null
),

final as (
    select
        customers.customer_id,
        {%- for kind in known_kinds %}
            per_customer.last_{{ kind }}_at,
        {%- endfor %}
        per_customer.first_activity_at,
        per_customer.last_activity_at,
        cast(per_customer.last_activity_at as date) as last_activity_date,
        collected.first_contact_created_at,
        coalesce(collected.first_contact_created_at, per_customer.first_activity_at) as first_collected_at,
        coalesce(collected.crm_contact_count, 0) as crm_contact_count
    from customers
    left join per_customer on customers.customer_id = per_customer.customer_id
    left join collected on customers.customer_id = collected.customer_id
)

select * from final
