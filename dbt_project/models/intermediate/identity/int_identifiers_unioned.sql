{{ clientbase.identity_records_config() }}

-- Every identifier observation of every source record, in one long table: one row per
-- (record, identifier). Two identifiers on the same record are evidence that they belong to the
-- same person (the edges of the identity graph); the record keys here are the ones the
-- generator's truth uses (`_truth/records.csv`), so the graph can be scored.
-- Null identifiers are not observations; invalid ones are kept (flagged) so they are listed and
-- counted, and int_identifiers_excluded keeps them out of the graph.

-- Incremental by source record: a night recomputes the records staged since the newest stamp the
-- table holds and keeps the rows of every other record
-- (macros/identity/identity_records_incremental.sql).

{%- set since = clientbase.identity_records_changed_since() %}

with

contacts as (
    select * from {{ ref('stg_crm__contacts') }}
    where {{ clientbase.newer_than('_staged_at', since) }}
),

orders as (
    select * from {{ ref('stg_shop__orders') }}
    where {{ clientbase.newer_than('_staged_at', since) }}
),

receipts as (
    select * from {{ ref('stg_pos__receipts') }}
    where {{ clientbase.newer_than('_staged_at', since) }}
),

stores as (
    select * from {{ ref('stg_reference__stores') }}
),

cards as (
    select * from {{ ref('stg_loyalty__cards') }}
    where {{ clientbase.newer_than('_staged_at', since) }}
),

-- a changed cookie or address is re-read whole: all its identifier sets or address rows
web_identifier_sets as (
    select * from {{ ref('int_web_identifier_sets') }}
    {%- if since is not none %}
        where anonymous_id in (
            select changed_cookies.record_id
            from ({{ clientbase.identity_changed_records(since, ['web_cookie']) }}) as changed_cookies
        )
    {%- endif %}
),

message_addresses_by_event_type as (
    select summarised.*
    from {{ ref('int_message_addresses_summarised') }} as summarised
    {%- if since is not none %}
        inner join (
            {{ clientbase.identity_changed_records(since, ['messaging_address']) }}
        ) as changed_addresses
            on {{ dbt.concat(["summarised.channel", "':'", "summarised.address_raw"]) }}
            = changed_addresses.record_id
    {%- endif %}
),

survey_responses as (
    select * from {{ ref('stg_surveys__responses') }}
    where {{ clientbase.newer_than('_staged_at', since) }}
),

crm_observations as (
    select
        {{ clientbase.identity_record_key('crm') }},
        created_at as observed_at,
        updated_at as last_observed_at,
        contact_id as crm_contact_id,
        {{ clientbase.identity_email_key('email') }} as email,
        coalesce(is_email_valid, false) as is_email_valid,
        phone,
        coalesce(is_phone_valid, false) as is_phone_valid,
        telegram_id,
        vk_id,
        cast(null as {{ dbt.type_string() }}) as loyalty_card,
        cast(null as {{ dbt.type_string() }}) as cookie,
        cast(1 as {{ dbt.type_bigint() }}) as observation_count,
        _staged_at
    from contacts
),

shop_observations as (
    select
        {{ clientbase.identity_record_key('shop') }},
        ordered_at as observed_at,
        updated_at as last_observed_at,
        user_id as crm_contact_id,
        {{ clientbase.identity_email_key('email') }} as email,
        coalesce(is_email_valid, false) as is_email_valid,
        phone,
        coalesce(is_phone_valid, false) as is_phone_valid,
        cast(null as {{ dbt.type_string() }}) as telegram_id,
        cast(null as {{ dbt.type_string() }}) as vk_id,
        cast(null as {{ dbt.type_string() }}) as loyalty_card,
        anonymous_id as cookie,
        cast(1 as {{ dbt.type_bigint() }}) as observation_count,
        _staged_at
    from orders
),

pos_observations as (
    select
        {{ clientbase.identity_record_key('pos', relation='receipts') }},
        -- tills print local time; the store's zone turns it into UTC like every other source
        {{ clientbase.local_to_utc('receipts.purchased_at_local', 'stores.time_zone') }} as observed_at,
        {{ clientbase.local_to_utc('receipts.purchased_at_local', 'stores.time_zone') }} as last_observed_at,
        cast(null as {{ dbt.type_string() }}) as crm_contact_id,
        cast(null as {{ dbt.type_string() }}) as email,
        false as is_email_valid,
        receipts.phone,
        coalesce(receipts.is_phone_valid, false) as is_phone_valid,
        cast(null as {{ dbt.type_string() }}) as telegram_id,
        cast(null as {{ dbt.type_string() }}) as vk_id,
        receipts.loyalty_card_number as loyalty_card,
        cast(null as {{ dbt.type_string() }}) as cookie,
        cast(1 as {{ dbt.type_bigint() }}) as observation_count,
        receipts._staged_at
    from receipts
    left join stores
        on receipts.store_id = stores.store_id
),

loyalty_observations as (
    select
        {{ clientbase.identity_record_key('loyalty') }},
        issued_at as observed_at,
        updated_at as last_observed_at,
        cast(null as {{ dbt.type_string() }}) as crm_contact_id,
        {{ clientbase.identity_email_key('email') }} as email,
        coalesce(is_email_valid, false) as is_email_valid,
        phone,
        coalesce(is_phone_valid, false) as is_phone_valid,
        cast(null as {{ dbt.type_string() }}) as telegram_id,
        cast(null as {{ dbt.type_string() }}) as vk_id,
        card_number as loyalty_card,
        cast(null as {{ dbt.type_string() }}) as cookie,
        cast(1 as {{ dbt.type_bigint() }}) as observation_count,
        _staged_at
    from cards
),

-- a web record is the cookie: everything it logged in as or identified with belongs to it.
-- Its events come counted per distinct identifier set (int_web_identifier_sets; size L: 39M
-- events, ~3M sets).
web_observations as (
    select
        {{ clientbase.identity_record_key('web') }},
        first_occurred_at as observed_at,
        last_occurred_at as last_observed_at,
        user_id as crm_contact_id,
        {{ clientbase.identity_email_key('email') }} as email,
        coalesce(is_email_valid, false) as is_email_valid,
        cast(null as {{ dbt.type_string() }}) as phone,
        false as is_phone_valid,
        cast(null as {{ dbt.type_string() }}) as telegram_id,
        cast(null as {{ dbt.type_string() }}) as vk_id,
        cast(null as {{ dbt.type_string() }}) as loyalty_card,
        anonymous_id as cookie,
        observation_count,
        _staged_at
    from web_identifier_sets
),

-- a messaging record is one address of one channel: it carries a single identifier, so it
-- joins a customer but never links two. Its events come counted per address and event type
-- (int_message_addresses_summarised; size L: 30M events), summed here per address.
message_addresses as (
    select
        channel,
        address_raw,
        email,
        is_address_valid,
        phone,
        telegram_id,
        min(first_occurred_at) as observed_at,
        max(last_occurred_at) as last_observed_at,
        cast(sum(observation_count) as {{ dbt.type_bigint() }}) as observation_count,
        max(_staged_at) as _staged_at
    from message_addresses_by_event_type
    group by channel, address_raw, email, is_address_valid, phone, telegram_id
),

messaging_observations as (
    select
        {{ clientbase.identity_record_key('messaging') }},
        observed_at,
        last_observed_at,
        cast(null as {{ dbt.type_string() }}) as crm_contact_id,
        {{ clientbase.identity_email_key('email') }} as email,
        coalesce(is_address_valid, false) as is_email_valid,
        {{ clientbase.identity_messaging_phone('phone', 'address_raw', 'channel') }} as phone,
        (
            coalesce(is_address_valid, false)
            or (
                phone is null
                and {{ clientbase.identity_messaging_phone('phone', 'address_raw', 'channel') }} is not null
            )
        ) as is_phone_valid,
        telegram_id,
        cast(null as {{ dbt.type_string() }}) as vk_id,
        cast(null as {{ dbt.type_string() }}) as loyalty_card,
        cast(null as {{ dbt.type_string() }}) as cookie,
        observation_count,
        _staged_at
    from message_addresses
),

survey_observations as (
    select
        {{ clientbase.identity_record_key('surveys') }},
        submitted_at as observed_at,
        submitted_at as last_observed_at,
        cast(null as {{ dbt.type_string() }}) as crm_contact_id,
        {{ clientbase.identity_email_key('email') }} as email,
        coalesce(is_email_valid, false) as is_email_valid,
        phone,
        coalesce(is_phone_valid, false) as is_phone_valid,
        cast(null as {{ dbt.type_string() }}) as telegram_id,
        cast(null as {{ dbt.type_string() }}) as vk_id,
        cast(null as {{ dbt.type_string() }}) as loyalty_card,
        cast(null as {{ dbt.type_string() }}) as cookie,
        cast(1 as {{ dbt.type_bigint() }}) as observation_count,
        _staged_at
    from survey_responses
),

-- A record of these sources is one row, and each identifier type one column of it: its
-- (record, identifier) pairs are unique already (the record ids are tested unique in staging).
single_row_records as (
    select * from crm_observations
    union all
    select * from shop_observations
    union all
    select * from pos_observations
    union all
    select * from loyalty_observations
    union all
    select * from survey_observations
),

-- A web cookie logs several identifier sets (the cookie itself is in every one of them), and a
-- messaging address can come in several spellings of its validity: these pairs repeat.
repeating_records as (
    select * from web_observations
    union all
    select * from messaging_observations
),

-- wide -> long: one row per identifier present on the record
{%- set identifier_columns = [
    ('crm_contact_id', 'true'),
    ('email', 'is_email_valid'),
    ('phone', 'is_phone_valid'),
    ('loyalty_card', 'true'),
    ('cookie', 'true'),
    ('telegram_id', 'true'),
    ('vk_id', 'true'),
] %}
{% for records in ['single_row_records', 'repeating_records'] %}
    long_{{ records }} as (
        {%- for identifier_type, validity in identifier_columns %}
            select
                source_system,
                record_type,
                record_id,
                '{{ identifier_type }}' as identifier_type,
                {{ identifier_type }} as identifier_value,
                {{ validity }} as is_valid,
                observed_at,
                coalesce(last_observed_at, observed_at) as last_observed_at,
                observation_count,
                _staged_at
            from {{ records }}
            where {{ identifier_type }} is not null and record_id is not null
            {% if not loop.last %}union all{% endif %}
        {%- endfor %}
    ),
{% endfor %}

-- one row per (record, identifier). Only the repeating sources are grouped: grouping all 25M
-- long rows by five strings cost 11 s of CPU on size L, most of it on pairs that never repeat.
observations as (
    select
        source_system,
        record_type,
        record_id,
        identifier_type,
        identifier_value,
        is_valid,
        observed_at as first_observed_at,
        last_observed_at,
        observation_count,
        _staged_at
    from long_single_row_records
    union all
    select
        source_system,
        record_type,
        record_id,
        identifier_type,
        identifier_value,
        -- a value is valid when the source that carried it says so at least once
        max(case when is_valid then 1 else 0 end) = 1 as is_valid,
        min(observed_at) as first_observed_at,
        max(last_observed_at) as last_observed_at,
        sum(observation_count) as observation_count,
        max(_staged_at) as _staged_at
    from long_repeating_records
    group by source_system, record_type, record_id, identifier_type, identifier_value
),

final as (
    select
        {{ dbt.hash(dbt.concat([
            "record_type", "'|'", "record_id", "'|'", "identifier_type", "'|'", "identifier_value",
        ])) }} as observation_id,
        source_system,
        record_type,
        record_id,
        identifier_type,
        identifier_value,
        is_valid,
        first_observed_at,
        last_observed_at,
        cast(observation_count as {{ dbt.type_bigint() }}) as observation_count,
        -- when a run last staged the record (its staging row, or its newest summary row)
        _staged_at
    from observations
)

select * from final
