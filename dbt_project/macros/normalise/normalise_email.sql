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
    {#- The same pattern twice: with \p{L} for addresses holding non-ASCII letters (IDN), and
        with A-Z in its place for pure-ASCII ones, where \p{L} can only match A-Z. RE2 runs
        the \p{L} version with its slow NFA engine (a class of every Unicode letter under
        bounded repetition is too big for its DFA): ~10 µs an address, 34 s for size L's
        3.4M orders; the ASCII version takes 0.4 s. Same verdicts on each of the 1.6M distinct
        raw and normalised emails of size L's contacts and orders. -#}
    case
        when {{ col }} is null then null
        else
            length({{ col }}) <= 254
            and {{ clientbase.regexp_like(col, '^[^@]{1,64}@') }}
            and case
                when {{ clientbase.regexp_like(col, '^[\\x{00}-\\x{7F}]*$') }}
                    then {{ clientbase.regexp_like(col, email_syntax_pattern('A-Z')) }}
                else {{ clientbase.regexp_like(col, email_syntax_pattern('\\p{L}')) }}
            end
    end
{%- endmacro %}


{#- The address pattern of is_valid_email, with `letters` as the class of non-[a-z] letters. -#}
{% macro email_syntax_pattern(letters) -%}
    {%- set local_char = "[a-z0-9!#$%&*+/=?^_`{|}~-]" -%}
    {%- set label = "[a-z0-9" ~ letters ~ "]([a-z0-9" ~ letters ~ "-]{0,61}[a-z0-9" ~ letters ~ "])?" -%}
    {{- "^" ~ local_char ~ "+([.]" ~ local_char ~ "+)*@(" ~ label ~ "[.])+([a-z" ~ letters ~ "]{2,63}|xn--[a-z0-9-]{1,59})$" -}}
{%- endmacro %}
