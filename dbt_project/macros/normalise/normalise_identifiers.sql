{#-
    Loyalty card number as printed or typed → digits only, leading zeros kept (cards are
    identifiers, not numbers: '0012 3456' and '00123456' are the same card, '123456' is not).
    Separators (spaces, hyphens) are dropped; a value holding anything else (letters, a phone
    pasted in the wrong field with a plus) is not a card number and becomes null.
-#}
{% macro normalise_card_number(col) -%}
    case
        when {{ clientbase.regexp_like('trim(' ~ col ~ ')', '^[0-9\\s\\x{00A0}-]+$') }}
            then nullif({{ clientbase.regexp_replace_all(col, '[^0-9]', '') }}, '')
    end
{%- endmacro %}


{#-
    Identifier issued by another system and copied around as text (cookie ids, messenger ids):
    trimmed, lower case, null when empty or when it is an export artefact rather than a value
    ('null', 'none', 'nan', 'undefined', 'n/a' — what JSON nulls and empty spreadsheet cells turn
    into on their way through other tools).
-#}
{#- The artefacts are compared one by one (`<>` ... and ...) rather than with `not in (...)`:
    the same three-valued result, but DuckDB plans a six-value list as a join per row (web
    events on size L: 9.0 -> 4.9 s CPU for this column). -#}
{% macro normalise_identifier(col) -%}
    case
        when
            {%- for artefact in ['', 'null', 'none', 'nan', 'undefined', 'n/a'] %}
            lower(trim({{ col }})) <> '{{ artefact }}'{{ ' and' if not loop.last }}
            {%- endfor %}
            then lower(trim({{ col }}))
    end
{%- endmacro %}


{#-
    Free text (names, cities, campaign names): whitespace runs, including no-break spaces,
    collapsed to one space, trimmed, null when empty. Case is kept: it carries meaning in names.
-#}
{% macro clean_text(col) -%}
    nullif(trim({{ clientbase.regexp_replace_all(col, '[\\s\\x{00A0}]+', ' ') }}), '')
{%- endmacro %}


{#-
    Boolean exported as text → boolean: true/false, t/f, 1/0, yes/no (any case); null for
    empty or anything else (an unknown consent is not a refusal).
-#}
{% macro normalise_boolean(col) -%}
    case
        when lower(trim({{ col }})) in ('true', 't', '1', 'yes', 'y') then true
        when lower(trim({{ col }})) in ('false', 'f', '0', 'no', 'n') then false
    end
{%- endmacro %}


{#-
    Telegram account as stored by the CRM or the messaging service → one comparable form: a
    numeric user id, or a username without '@' / 't.me/' in lower case (Telegram usernames are
    case-insensitive, 5–32 characters, a letter first). Null when it is neither.
-#}
{% macro normalise_telegram_id(col) -%}
    {%- set bare = clientbase.regexp_replace_all(clientbase.normalise_identifier(col), '^(https?://)?(t[.]me/|@)', '') -%}
    case
        when {{ clientbase.regexp_like(bare, '^([0-9]{5,15}|[a-z][a-z0-9_]{4,31})$') }} then {{ bare }}
    end
{%- endmacro %}
