{#-
    Small helpers of the identity models (models/intermediate/identity).
-#}

{#- The hub limit for (identifier type, neighbour type) from var identity_hub_limits, as SQL:
    limits[type][neighbour], else limits[type].default, else limits.default.default. -#}
{% macro identity_hub_limit(type_column, neighbour_type_column) %}
    {%- set limits = var('identity_hub_limits') -%}
    {%- set fallback = limits.get('default', {}).get('default', 3) -%}
    case
    {%- for identifier_type, per_neighbour in limits.items() if identifier_type != 'default' %}
        {%- for neighbour_type, limit in per_neighbour.items() if neighbour_type != 'default' %}
        when {{ type_column }} = '{{ identifier_type }}' and {{ neighbour_type_column }} = '{{ neighbour_type }}' then {{ limit | int }}
        {%- endfor %}
        {%- if 'default' in per_neighbour %}
        when {{ type_column }} = '{{ identifier_type }}' then {{ per_neighbour['default'] | int }}
        {%- endif %}
    {%- endfor %}
        else {{ fallback | int }}
    end
{%- endmacro %}


{#- Ranking of identifier types when one must represent a record or a cluster: the most
    durable, most person-specific identifiers first. -#}
{% macro identity_type_rank(type_column) -%}
    case {{ type_column }}
        when 'crm_contact_id' then 1
        when 'loyalty_card' then 2
        when 'email' then 3
        when 'phone' then 4
        when 'telegram_id' then 5
        when 'vk_id' then 6
        when 'cookie' then 7
        else 9
    end
{%- endmacro %}


{#- The source systems, the system of record first: the order survivorship (golden record)
    ranks them in, and the one list every model that names them per system uses. -#}
{% macro identity_source_systems() -%}
    {{ return(['crm', 'loyalty', 'shop', 'pos', 'surveys', 'web', 'messaging']) }}
{%- endmacro %}


{#- Ranking of source systems for survivorship (golden record): the system of record first. -#}
{% macro identity_source_rank(system_column) -%}
    case {{ system_column }}
    {%- for system in clientbase.identity_source_systems() %}
        when '{{ system }}' then {{ loop.index }}
    {%- endfor %}
        else 9
    end
{%- endmacro %}


{#- The e-mail as identity matches it: Gmail ignores dots and `+tags` in the local part and
    treats googlemail.com as gmail.com, so `ivan.petrov+shop@gmail.com` and
    `ivanpetrov@gmail.com` are one mailbox. Other providers keep the normalised value (dots are
    significant at mail.ru and yandex.ru aliases are not reliably the same box). -#}
{% macro identity_email_key(col) -%}
    case
        when {{ dbt.split_part(col, "'@'", 2) }} in ('gmail.com', 'googlemail.com')
            then {{ dbt.concat([
                dbt.replace(dbt.split_part(dbt.split_part(col, "'@'", 1), "'+'", 1), "'.'", "''"),
                "'@gmail.com'",
            ]) }}
        else {{ col }}
    end
{%- endmacro %}


{#- Phone of a messaging address. The ESP keeps phones as the digits it imported, so a foreign
    number loses its `+` (`48596816449`) and a number imported without its trunk prefix stays
    10 national digits (`3456471512`); staging cannot normalise either without guessing. A
    messaging address carries a single identifier and links nothing, so reading 11-15 such
    digits as `+<digits>` and 10 as `+7<digits>` can only attach the address to a customer
    already known with that exact E.164 number; it cannot glue two customers. -#}
{% macro identity_messaging_phone(phone_col, address_col, channel_col) -%}
    case
        when {{ phone_col }} is not null then {{ phone_col }}
        when
            {{ channel_col }} in ('sms', 'whatsapp')
            and {{ clientbase.regexp_like(address_col, '^[1-9][0-9]{10,14}$') }}
            then {{ dbt.concat(["'+'", address_col]) }}
        when
            {{ channel_col }} in ('sms', 'whatsapp')
            and {{ clientbase.regexp_like(address_col, '^[3-9][0-9]{9}$') }}
            then {{ dbt.concat(["'+7'", address_col]) }}
    end
{%- endmacro %}


{#- Build id and start time of the current dbt invocation, as SQL literals (the identity ledger
    and graph-health models stamp their rows with them). -#}
{% macro identity_build_id() -%}
    '{{ invocation_id if invocation_id is defined else "offline" }}'
{%- endmacro %}

{% macro identity_built_at() -%}
    {%- set started = '1970-01-01 00:00:00' -%}
    {%- if run_started_at is defined -%}
        {%- set started = run_started_at.strftime('%Y-%m-%d %H:%M:%S') -%}
    {%- endif -%}
    cast('{{ started }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{#- The regex rows of the junk blocklist seed, as [{identifier_type, pattern, reason}], read
    when the model runs so that each pattern reaches the SQL as a constant. Var
    `identity_blocklist_regexes` gives them instead (unit tests, whose seed is a fixture);
    none at parse time. -#}
{% macro identity_blocklist_regexes(blocklist_relation) -%}
    {%- set fixed = var('identity_blocklist_regexes', none) -%}
    {%- set found = [] -%}
    {%- if fixed is not none -%}
        {%- set found = fixed -%}
    {%- elif execute -%}
        {%- set rows = run_query(
            "select identifier_type, pattern, reason from " ~ blocklist_relation
            ~ " where match_type = 'regex' order by identifier_type, pattern"
        ) -%}
        {%- for row in rows -%}
            {%- do found.append({
                'identifier_type': row[0], 'pattern': row[1], 'reason': row[2],
            }) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(found) }}
{%- endmacro %}


{#- The contact point a messaging address is (identifier_type, identifier_value, as in
    int_identifiers_unioned), from the columns of int_message_addresses_summarised. -#}
{% macro message_address_identifier() -%}
    case channel
        when 'email' then 'email'
        when 'telegram' then 'telegram_id'
        else 'phone'
    end as identifier_type,
    case channel
        when 'email' then {{ clientbase.identity_email_key('email') }}
        when 'telegram' then telegram_id
        else {{ clientbase.identity_messaging_phone('phone', 'address_raw', 'channel') }}
    end as identifier_value
{%- endmacro %}
