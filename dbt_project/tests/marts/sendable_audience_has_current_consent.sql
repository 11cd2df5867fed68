-- Every sendable (customer, channel) must hold a current 'granted' row in the consent history:
-- audiences use the latest consent state at build time, never an older one.
select
    sendable_audience.audience_member_id,
    sendable_audience.customer_id,
    sendable_audience.channel,
    consent.consent_state
from {{ ref('sendable_audience') }} as sendable_audience
left join {{ ref('customer_consent_history') }} as consent
    on
        sendable_audience.customer_id = consent.customer_id
        and sendable_audience.channel = consent.channel
        and consent.is_current
where consent.consent_state is null or consent.consent_state <> 'granted'
