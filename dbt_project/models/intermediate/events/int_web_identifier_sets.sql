{{ clientbase.event_summary_config(unique_key='identifier_set_id', events_model='stg_web__events') }}

-- The web log per cookie and identifier set: each distinct (cookie, CRM user, e-mail) the
-- tracker logged, with when and how often. Size L: 39M events, ~3M sets. Incremental: a night
-- summarises the events loaded since the newest load held here and merges them into their sets
-- (macros/staging/event_summaries.sql), so no nightly model reads the whole log for identity.

{{ clientbase.event_log_summary(
    events=ref('stg_web__events'),
    key_name='identifier_set_id',
    key_columns=['anonymous_id', 'user_id', 'email', 'is_email_valid'],
) }}
