{#-
    Phone number as typed → E.164 (`+<country code><number>`), or null when it cannot be
    normalised without guessing.

    Accepted shapes (`default_country_code` '7', Russia/Kazakhstan numbering):
      +7 (495) 128-30-20, 8 495 128 30 20, 74951283020,
      4951283020 (bare 10-digit national number)         → +74951283020
      8(916)1234567, 9161234567                          → +79161234567
      +48 601 234 567, 0048 601 234 567, 8-10-48-601234567 (Russian international prefix)
                                                         → +48601234567
    Rejected (null; the staging model then sets is_phone_valid = false):
      - anything but digits, spaces, brackets, dots, slashes, hyphens and one leading `+`
        (letters, extensions such as "доб. 12", several numbers in one field);
      - a +7 number that is not exactly 10 national digits starting with 3, 4 or 6-9, the only
        first digits the Russian (3xx, 4xx, 8xx, 9xx) and Kazakh (6xx, 7xx) plans use — so
        +7 (000)… and +7 5…;
      - any other bare length (7-digit local numbers without their area code, "12345").
    With assume_international, a digit string of 10–15 digits that is not a national number
    (above) is read as an MSISDN — country code and number without the plus, which is how SMS
    and WhatsApp gateways store addresses: 48601234567 → +48601234567. Only for such sources.
    A bare 10-digit number is read as a +7 national number when its first digit is one of
    those: it is exactly the length of one, it is how Russian forms ask for a number ("+7" is
    printed in front of the field), and the demo truth confirms bare landlines (495…, 343…) and
    Kazakh mobiles (70x…) belong to +7 people. Restricting this to 9xx mobiles would not remove
    any risk (a foreign number typed without its country code can start with 9 as well) but
    would drop every landline typed that way.
      - international numbers outside 8–15 digits, or starting with a country code that does
        not exist (0…, 83…, 89… — "+8 916…" is a trunk 8 typed behind a plus: not guessed);
      - numbers whose subscriber part is one digit repeated (0000000000, +7 999 999-99-99,
        8 (495) 000-00-00 — the last seven digits, or everything after the country code):
        placeholders typed to get past a required field. Decided here rather than only in the
        identity blocklist because such values are never a real person's phone, so no layer
        should see them as one; other shared numbers (a store's own phone typed by cashiers) are
        real numbers and are left to the identity layer's hub detection.
-#}
{% macro normalise_phone(col, default_country_code='7', assume_international=false) -%}
    {%- set numbering_plans = var('phone_numbering_plans', {}) -%}
    {%- set plan = numbering_plans.get(default_country_code | string) -%}
    {%- if plan is none -%}
        {{ exceptions.raise_compiler_error(
            "normalise_phone has no numbering plan for default country code '"
            ~ default_country_code ~ "'; add one under vars.phone_numbering_plans in dbt_project.yml"
        ) }}
    {%- endif -%}
    {%- set trimmed = 'trim(' ~ col ~ ')' -%}
    {#- keep digits and plus signs; the shape check below rejects a plus anywhere but first -#}
    {%- set ns = namespace(candidate=clientbase.regexp_replace_all(trimmed, '[^0-9+]', '')) -%}
    {#- 00 and the Russian 8-10 are international call prefixes: the same as a leading plus -#}
    {%- set ns.candidate = clientbase.regexp_replace_all(ns.candidate, '^(00|810)', '+') -%}
    {%- for rewrite in plan.national_rewrites -%}
        {%- set ns.candidate = clientbase.regexp_replace_all(ns.candidate, rewrite[0], rewrite[1]) -%}
    {%- endfor -%}
    {%- if assume_international -%}
        {#- what is not a national number is an MSISDN: country code and number, no plus -#}
        {%- set ns.candidate = clientbase.regexp_replace_all(ns.candidate, '^([1-9][0-9]{9,14})$', '+\\1') -%}
    {%- endif -%}
    {#- placeholders: one digit repeated after the country code, or over the 7-digit subscriber
        number; erased whole, so that the validity check below finds nothing -#}
    {%- set placeholder = '^[+][0-9]{0,3}(0+|1+|2+|3+|4+|5+|6+|7+|8+|9+)$'
        ~ '|^[+][0-9]*(0{7}|1{7}|2{7}|3{7}|4{7}|5{7}|6{7}|7{7}|8{7}|9{7})$' -%}
    {%- set without_placeholders = clientbase.regexp_replace_all(ns.candidate, placeholder, '') -%}
    {#- the whole candidate if it is a valid number, else '' (written so that the long candidate
        expression appears once in the SQL and is evaluated once per row) -#}
    case
        when {{ clientbase.regexp_like(trimmed, '^[+]?[0-9()\\s\\x{00A0}./-]+$') }}
            then nullif({{ clientbase.regexp_extract_group(without_placeholders, plan.valid, 0) }}, '')
    end
{%- endmacro %}
