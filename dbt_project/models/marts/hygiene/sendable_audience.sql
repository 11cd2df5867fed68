-- Who marketing may message, per channel: one row per customer and channel that passes every
-- hygiene rule in contact_hygiene (deliverable address, consent by the latest event, not
-- inactive or never active), with the address, the current (inferred) time zone and the best
-- local send hour. Customers with no known time zone get the default hour in the retailer's
-- zone of record (null time zone: the sender's own).

{%- set channels = {'email': 'email', 'sms': 'phone', 'whatsapp': 'phone', 'telegram': 'telegram_id'} %}

with

hygiene as (
    select * from {{ ref('contact_hygiene') }}
),

by_channel as (
    {%- for channel, address in channels.items() %}
        select
            customer_id,
            '{{ channel }}' as channel,
            {{ address }} as contact_point,
            current_time_zone,
            best_send_hour_local,
            send_hour_source,
            as_of_date
        from hygiene
        where is_sendable_{{ channel }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

final as (
    select
        {{ dbt.concat(["customer_id", "':'", "channel"]) }} as audience_member_id,
        customer_id,
        channel,
        contact_point,
        current_time_zone as time_zone,
        best_send_hour_local as send_hour_local,
        send_hour_source,
        as_of_date
    from by_channel
)

select * from final
