{#-
    Incremental identity observations, by source record.

    int_identifiers_unioned (one row per record and identifier; size L: 23M rows) and
    int_identity_edges_observed (one row per pair of identifiers and record; 21M rows) are
    functions of one source record each: a record's rows depend on that record's staging row
    (or, for a web cookie or a messaging address, its rows in the event summaries) and on
    nothing else. So a night recomputes only the records that changed, and keeps every other
    record's rows as they are:

    - every row a run writes into a daily staging model or an event summary carries the run's
      start, `_staged_at` (staged_at()): a new record, a new version of one (an order's status,
      a contact's new e-mail), a summary key that merged new events, every key of a summary
      recomputed whole, every row of a --full-refresh;
    - these models keep, per row, the stamp of the input they were computed from; a record
      changed when an input row of it carries a stamp newer than the newest one the model holds.
      Stamps are the starts of dbt runs, so that is exactly "written by a run this model has not
      seen", whatever the extraction load times say (a load still being written while the last
      build read the raw zone, a late copy), with no margin and no second lookup;
    - a pre-hook deletes every row of the changed records, and the model appends their rows
      recomputed from all their inputs. Deleting by the list of changed records, not by the rows
      the model writes, matters: a new version may carry no identifier at all, and then no row
      replaces the old ones.

    Rows of unchanged records stay exactly what a rebuild writes (tests/test_incremental.py).
    What no stamp announces needs `--full-refresh` of these models, as of the daily staging
    models: a record that vanished from a day re-extracted with fewer rows, and a corrected time
    zone in the stores reference (POS observation times are local till times converted with it;
    fct_orders makes the same assumption). Erasure deletes the erased records' rows from these
    tables itself (orchestration/erasure.py).

    Where the engine cannot upsert (Spark over Parquet) the models are tables rebuilt on every
    run (upsert_materialization()): no pre-hook runs and every record is read.
-#}

{#- The newest stamp (text) the model holds: tonight's run recomputes the records staged after
    it. None when every record is read (first build, --full-refresh, a table rebuilt on every
    run, or an empty table). Var `identity_records_staged_since` replaces the lookup (unit
    tests). -#}
{% macro identity_records_changed_since() -%}
    {%- set fixed = var('identity_records_staged_since', none) -%}
    {%- if not is_incremental() -%}
        {{ return(none) }}
    {%- elif fixed is not none or not execute -%}
        {{ return(fixed) }}
    {%- else -%}
        {{ return(run_query(
            'select cast(max(_staged_at) as ' ~ dbt.type_string() ~ ') from ' ~ this
        ).columns[0].values()[0]) }}
    {%- endif -%}
{%- endmacro %}


{#- The web cookies and the messaging addresses with summary rows staged after `since`: the keys
    by which their summary rows are re-read whole. -#}
{% macro identity_changed_cookies(since) -%}
    select distinct anonymous_id
    from {{ ref('int_web_identifier_sets') }}
    where {{ clientbase.newer_than('_staged_at', since) }}
{%- endmacro %}


{% macro identity_changed_addresses(since) -%}
    select distinct
        channel,
        address_raw
    from {{ ref('int_message_addresses_summarised') }}
    where {{ clientbase.newer_than('_staged_at', since) }}
{%- endmacro %}


{#- (record_type, record_id) of every record with an input row staged after `since`, in the
    record keys of int_identifiers_unioned. -#}
{% macro identity_changed_records(since) -%}
    {%- set single_row_sources = [
        ('crm_contact', 'contact_id', 'stg_crm__contacts'),
        ('shop_order', 'order_id', 'stg_shop__orders'),
        ('pos_receipt', 'receipt_id', 'stg_pos__receipts'),
        ('loyalty_card', 'card_number', 'stg_loyalty__cards'),
        ('survey_response', 'response_id', 'stg_surveys__responses'),
    ] -%}
    {%- for record_type, id_column, model in single_row_sources %}
        select
            '{{ record_type }}' as record_type,
            {{ id_column }} as record_id
        from {{ ref(model) }}
        where {{ clientbase.newer_than('_staged_at', since) }}
        union all
    {%- endfor %}
    select
        'web_cookie' as record_type,
        anonymous_id as record_id
    from ({{ clientbase.identity_changed_cookies(since) }}) as changed_cookies
    union all
    select
        'messaging_address' as record_type,
        {{ dbt.concat(["channel", "':'", "address_raw"]) }} as record_id
    from ({{ clientbase.identity_changed_addresses(since) }}) as changed_addresses
{%- endmacro %}


{#- Pre-hook of a model kept by record: deletes the rows of the records tonight's run
    recomputes (the model's body reads the same state, before this runs). -#}
{% macro identity_records_pre_hook() -%}
    {%- if is_incremental() and execute -%}
        {%- set since = clientbase.identity_records_changed_since() -%}
        {%- if since is none %}
            delete from {{ this }}
        {%- else %}
            delete from {{ this }} as held
            where exists (
                select 1
                from ({{ clientbase.identity_changed_records(since) }}) as changed
                where
                    changed.record_type = held.record_type
                    and changed.record_id = held.record_id
            )
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#- The config of a model kept by record. -#}
{% macro identity_records_config() -%}
    {{ config(
        materialized=clientbase.upsert_materialization(),
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ clientbase.identity_records_pre_hook() }}",
    ) }}
{%- endmacro %}
