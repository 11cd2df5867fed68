{#-
    Email address as typed → the form identity matching and sending use: lower case, no
    whitespace anywhere (including no-break spaces pasted from documents), no `mailto:` prefix,
    no punctuation left over at either end ("ivan@mail.ru." or "<ivan@mail.ru>,"); null when
    nothing is left. It does not judge whether the result is an address: see is_valid_email.
-#}
{% macro normalise_email(col) -%}
    {%- set lowered = 'lower(' ~ col ~ ')' -%}
    {%- set no_space = clientbase.regexp_replace_all(lowered, '[\\s\\x{00A0}]', '') -%}
    {%- set no_scheme = clientbase.regexp_replace_all(no_space, '^mailto:', '') -%}
    {%- set no_edge_punctuation = clientbase.regexp_replace_all(no_scheme, '^[.,;:<>"]+|[.,;:<>"]+$', '') -%}
    nullif({{ no_edge_punctuation }}, '')
{%- endmacro %}


{#-
    Syntax check of an already normalised email (the output of normalise_email): one `@`, a
    dot-atom local part of at most 64 characters (no leading, trailing or doubled dots), a
    domain of dot-separated labels (letters, including non-Latin IDN letters, digits, inner
    hyphens) ending in a top-level domain of two or more letters or an `xn--` label, at most 254
    characters in all. Null in, null out: a missing address is not an invalid one.
    Deliverability (MX records, disposable domains, typo domains) is the hygiene layer's job.
-#}
{% macro is_valid_email(col) -%}
    {%- set local_char = "[a-z0-9!#$%&*+/=?^_`{|}~-]" -%}
    {%- set label = "[a-z0-9\\p{L}]([a-z0-9\\p{L}-]{0,61}[a-z0-9\\p{L}])?" -%}
    {%- set pattern = "^" ~ local_char ~ "+([.]" ~ local_char ~ "+)*@(" ~ label ~ "[.])+([a-z\\p{L}]{2,63}|xn--[a-z0-9-]{1,59})$" -%}
    case
        when {{ col }} is null then null
        else
            length({{ col }}) <= 254
            and {{ clientbase.regexp_like(col, '^[^@]{1,64}@') }}
            and {{ clientbase.regexp_like(col, pattern) }}
    end
{%- endmacro %}
