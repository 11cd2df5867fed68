{{ clientbase.event_summary_config(unique_key='address_event_type_id', events_model='stg_messaging__events') }}

-- The messaging log per address and event type: what the ESP and the messengers reported for
-- each address of each channel, with when and how often. Size L: 30M events, ~4M rows.
-- Incremental like int_web_identifier_sets (macros/staging/event_summaries.sql).

{{ clientbase.event_log_summary(
    events=ref('stg_messaging__events'),
    key_name='address_event_type_id',
    key_columns=[
        'channel', 'address_raw', 'email', 'is_address_valid', 'phone', 'telegram_id', 'event_type',
    ],
) }}
