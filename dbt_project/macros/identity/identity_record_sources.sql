{#-
    The source records of the identity graph, one list for every model that enumerates them
    (int_identifiers_unioned, int_identity_edges_observed, int_source_records_resolved and the
    incremental helpers in identity_records_incremental.sql). Record keys follow the generator's
    truth (`_truth/records.csv`).

    - source_system, record_type: the record key's names;
    - record_id: the SQL of the record id over the columns of `model`;
    - model: where the records are (a staging model: one row per record; an event summary, with
      `summarised`: several rows per record, one per identifier set or event type).
-#}
{% macro identity_record_sources() -%}
    {{ return([
        {'source_system': 'crm', 'record_type': 'crm_contact', 'record_id': 'contact_id',
         'model': 'stg_crm__contacts', 'summarised': false},
        {'source_system': 'shop', 'record_type': 'shop_order', 'record_id': 'order_id',
         'model': 'stg_shop__orders', 'summarised': false},
        {'source_system': 'pos', 'record_type': 'pos_receipt', 'record_id': 'receipt_id',
         'model': 'stg_pos__receipts', 'summarised': false},
        {'source_system': 'loyalty', 'record_type': 'loyalty_card', 'record_id': 'card_number',
         'model': 'stg_loyalty__cards', 'summarised': false},
        {'source_system': 'web', 'record_type': 'web_cookie', 'record_id': 'anonymous_id',
         'model': 'int_web_identifier_sets', 'summarised': true},
        {'source_system': 'messaging', 'record_type': 'messaging_address',
         'record_id': dbt.concat(["channel", "':'", "address_raw"]),
         'model': 'int_message_addresses_summarised', 'summarised': true},
        {'source_system': 'surveys', 'record_type': 'survey_response', 'record_id': 'response_id',
         'model': 'stg_surveys__responses', 'summarised': false},
    ]) }}
{%- endmacro %}


{#- `'<system>' as source_system, '<type>' as record_type, <id> as record_id` of one source
    (by source_system), its id columns qualified with `relation` when given. -#}
{% macro identity_record_key(source_system, relation=none) -%}
    {%- set source = clientbase.identity_record_sources()
        | selectattr('source_system', 'equalto', source_system) | first -%}
    {%- set record_id = source.record_id -%}
    {%- if relation is not none -%}
        {%- set record_id = relation ~ '.' ~ record_id -%}
    {%- endif -%}
    '{{ source.source_system }}' as source_system,
    '{{ source.record_type }}' as record_type,
    {{ record_id }} as record_id
{%- endmacro %}
