{#-
    The contact and customer dimensions, kept by key.

    dim_contacts (one row per contact point; size L: 4.9M rows) and dim_customers (one row per
    customer; 1M rows) read no as-of date: a row is a function of its key's inputs only. A night
    touches a few percent of the keys, so instead of recomputing every row (size L: ~50 s of a
    night's node time for the two) a night

    - deletes, in a pre-hook, every held row whose inputs changed since the newest stamp the
      table holds (`_staged_at`, the start of the run that computed the row), and every row
      whose key is gone;
    - recomputes, in the model's body, every key that has no held row: the rows the pre-hook
      deleted, new keys, and rows something else removed (erasure deletes the rows that hold
      an erased value, orchestration/erasure.py).

    The body needs no list of changes: what is missing is what it computes, so the pre-hook alone
    decides what changed, and a key deleted is always recomputed.

    What changed, for dim_contacts (by identifier_type, identifier_value):
    - its row of int_identifiers_resolved was written since (that model writes only the rows
      that differ, each with the run's `_staged_at`): validity, first/last seen, record count,
      source systems, customer, exclusion; or that row is gone;
    - a CRM contact carrying it was restaged since (its consent flags): the contact's rows of
      int_identifiers_unioned carry the contact's stamp;
    - messaging events to it were summarised since (unsubscribes, deliverability): the rows of
      int_message_addresses_summarised a run writes carry its stamp.

    What changed, for dim_customers (by customer_id):
    - a customer of an identifier whose int_identifiers_resolved row was written since, of a
      record of int_source_records_resolved recomputed since (a restaged record, or one whose
      identifiers' resolution changed), or of a dim_contacts row recomputed since;
    - a customer that lost something: its identifier or record count differs from the held
      row's (a customer that gains an identifier or a record is listed above, through the gained
      row's stamp, so a loss always shows in a count or beside a stamp); or it is gone.

    Rows of unchanged keys stay exactly what a rebuild writes (tests/test_incremental.py). As for
    the models kept by record (identity_records_incremental.sql), a first run, --full-refresh or
    an empty table computes every key, and where the engine cannot upsert (Spark over Parquet)
    both are tables rebuilt on every run, without the pre-hook.
-#}

{#- The config of a model kept by key; `stale_rows` names the macro that, given the newest stamp
    held, renders the condition (on the alias `held`) of the rows its pre-hook deletes. -#}
{% macro dimension_config(stale_rows) -%}
    {{ config(
        materialized=clientbase.upsert_materialization(),
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook="{{ clientbase.dimension_pre_hook('" ~ stale_rows ~ "') }}",
        meta={'run_stamped': true},
    ) }}
{%- endmacro %}


{#- Filter of a dimension's body: the rows of `alias` whose key (the columns `keys`) has no held
    row, on an incremental run; every row otherwise. -#}
{% macro dimension_key_missing(alias, keys) -%}
    {%- if is_incremental() -%}
        not exists (
            select 1
            from {{ this }} as held
            where {{ clientbase.sync_keys_equal('held', alias, keys) }}
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}


{#- Filter of a dimension's body: the rows of `alias` whose key (the columns `keys`) is listed in
    the CTE `listed` (the keys computed tonight), on an incremental run; every row otherwise. -#}
{% macro dimension_key_listed(listed, alias, keys) -%}
    {%- if is_incremental() -%}
        exists (
            select 1
            from {{ listed }}
            where {{ clientbase.sync_keys_equal(listed, alias, keys) }}
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}


{#- The newest stamp a dimension holds, as text (held_staged_since); var
    `dimension_staged_since` replaces the lookup. -#}
{% macro dimension_changed_since() -%}
    {{ return(clientbase.held_staged_since('dimension_staged_since')) }}
{%- endmacro %}


{#- Pre-hook statement of a dimension: on an incremental run, deletes the held rows for which
    `stale_rows` (a condition on the alias `held`, rendered only when the table holds stamps)
    is true; every row when there is no stamp to go by. -#}
{% macro dimension_delete(since, stale_rows) -%}
    {%- if is_incremental() and execute -%}
        {%- if since is none %}
            delete from {{ this }}
        {%- else %}
            delete from {{ this }} as held
            where {{ stale_rows }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#- Pre-hook of a model kept by key: deletes the held rows `stale_rows` (a macro's name) selects
    since the newest stamp held; every row when the table holds no stamp. -#}
{% macro dimension_pre_hook(stale_rows) -%}
    {%- set since = clientbase.dimension_changed_since() -%}
    {{ clientbase.dimension_delete(
        since, none if since is none else clientbase[stale_rows](since)) }}
{%- endmacro %}


{#- The held rows of dim_contacts to recompute: the contact point is gone, or its resolved row,
    a CRM contact carrying it or the messaging summary of an address that is it was written
    since `since`. -#}
{% macro dim_contacts_stale_rows(since) -%}
    -- gone, or its resolved row was written since
    not exists (
        select 1
        from {{ ref('int_identifiers_resolved') }} as resolved
        where
            resolved.identifier_type = held.identifier_type
            and resolved.identifier_value = held.identifier_value
            and not {{ clientbase.newer_than('resolved._staged_at', since) }}
    )
    -- a CRM contact carrying it was restaged since
    or exists (
        select 1
        from {{ ref('int_identifiers_unioned') }} as observations
        where
            observations.record_type = 'crm_contact'
            and {{ clientbase.newer_than('observations._staged_at', since) }}
            and observations.identifier_type = held.identifier_type
            and observations.identifier_value = held.identifier_value
    )
    -- messaging events to it were summarised since
    or exists (
        select 1
        from (
            select {{ clientbase.message_address_identifier() }}
            from {{ ref('int_message_addresses_summarised') }}
            where {{ clientbase.newer_than('_staged_at', since) }}
        ) as messaged
        where
            messaged.identifier_type = held.identifier_type
            and messaged.identifier_value = held.identifier_value
    )
{%- endmacro %}


{#- The held rows of dim_customers to recompute: a customer of an identifier, a record or a
    contact point written since `since`, or one whose counts of identifiers and records differ
    from the held ones (it lost one, or it is gone). -#}
{% macro dim_customers_stale_rows(since) -%}
    exists (
        select 1
        from (
            select customer_id
            from {{ ref('int_identifiers_resolved') }}
            where {{ clientbase.newer_than('_staged_at', since) }}
            union all
            select customer_id
            from {{ ref('int_source_records_resolved') }}
            where {{ clientbase.newer_than('_staged_at', since) }}
            union all
            select customer_id
            from {{ ref('dim_contacts') }}
            where {{ clientbase.newer_than('_staged_at', since) }}
        ) as changed
        where changed.customer_id = held.customer_id
    )
    -- gone, or it lost an identifier or a record
    or not exists (
        select 1
        from (
            select
                identifiers.customer_id,
                identifiers.identifier_count,
                coalesce(records.record_count, 0) as record_count
            from (
                select
                    customer_id,
                    count(*) as identifier_count
                from {{ ref('int_identifiers_resolved') }}
                where customer_id is not null
                group by customer_id
            ) as identifiers
            left join (
                select
                    customer_id,
                    count(*) as record_count
                from {{ ref('int_source_records_resolved') }}
                where customer_id is not null
                group by customer_id
            ) as records
                on identifiers.customer_id = records.customer_id
        ) as counted
        where
            counted.customer_id = held.customer_id
            and counted.identifier_count = held.identifier_count
            and counted.record_count = held.record_count
    )
{%- endmacro %}


{#- The held rows of int_identifiers_numbered to recompute: an identifier one of whose
    observations was written since `since` (int_identifiers_unioned writes a record's rows
    again, each with the stamp of its input, whenever the record's input changed: a new record,
    a new version, a web cookie's or messaging address's new summary rows), or one whose
    observations are fewer or more than the held record_count (a record that no longer carries
    it, with no new row to announce it), or gone. A row that changed without a new stamp
    changed its count, so the two cover every change (tests/test_incremental.py). Both come
    from one grouping of the observations: a held row is kept only beside an identical count
    and no observation newer than `since`. -#}
{% macro identifiers_numbered_stale_rows(since) -%}
    not exists (
        select 1
        from (
            select
                identifier_type,
                identifier_value,
                count(*) as record_count,
                max(_staged_at) as newest_stamp
            from {{ ref('int_identifiers_unioned') }}
            group by identifier_type, identifier_value
        ) as counted
        where
            counted.identifier_type = held.identifier_type
            and counted.identifier_value = held.identifier_value
            and counted.record_count = held.record_count
            and not {{ clientbase.newer_than('counted.newest_stamp', since) }}
    )
{%- endmacro %}
