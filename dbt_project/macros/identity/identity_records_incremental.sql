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

    Two models downstream of the resolution are kept by record the same way, with more reasons
    for a record to change: int_source_records_resolved (a record's customer) and the mart
    customer_identity_edges (a record's links with the customers and exclusions of their ends,
    and the steward decision on each pair) also recompute the records carrying an identifier
    whose resolution changed (int_identifiers_resolved._resolution_changed_at), and the mart
    the records a steward decision is about, now or at the last run.

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
    {{ return(clientbase.held_staged_since('identity_records_staged_since')) }}
{%- endmacro %}


{#- (record_type, record_id) of every record with an input row staged after `since`, in the
    record keys of int_identifiers_unioned; only the given record types when `record_types` is
    a list. A web cookie or a messaging address is changed when one of its summary rows is.
    With `resolution_changes`, also every record carrying an identifier whose resolution
    (customer, method, exclusion) changed after `since` (int_identifiers_resolved); a record
    can then be listed twice. With `steward_decisions` (customer_identity_edges), also every
    record carrying a pair a steward decision is about now (int_identity_override_pairs), and
    every record whose held rows a decision applied to at the last run (identity_held_decisions:
    a decision removed or changed). -#}
{% macro identity_changed_records(
    since, record_types=none, resolution_changes=false, steward_decisions=false
) -%}
    {%- set sources = clientbase.identity_record_sources() -%}
    {%- if record_types is not none -%}
        {%- set sources = sources | selectattr('record_type', 'in', record_types) | list -%}
    {%- endif -%}
    {%- for source in sources %}
        select {% if source.summarised %}distinct {% endif %}
            '{{ source.record_type }}' as record_type,
            {{ source.record_id }} as record_id
        from {{ ref(source.model) }}
        where {{ clientbase.newer_than('_staged_at', since) }}
        {%- if not loop.last %}
        union all
        {%- endif %}
    {%- endfor %}
    {%- if resolution_changes %}
        union all
        select
            observations.record_type,
            observations.record_id
        from {{ ref('int_identifiers_unioned') }} as observations
        inner join {{ ref('int_identifiers_resolved') }} as resolved
            on
                observations.identifier_type = resolved.identifier_type
                and observations.identifier_value = resolved.identifier_value
        where {{ clientbase.newer_than('resolved._resolution_changed_at', since) }}
    {%- endif %}
    {%- if steward_decisions %}
        union all
        select
            edges.record_type,
            edges.record_id
        from {{ ref('int_identity_edges_observed') }} as edges
        inner join {{ ref('int_identity_override_pairs') }} as decided
            on
                edges.identifier_key_a = decided.identifier_key_a
                and edges.identifier_key_b = decided.identifier_key_b
        {%- for record in clientbase.identity_held_decisions() %}
        union all
        select
            '{{ record[0] | replace("'", "''") }}' as record_type,
            '{{ record[1] | replace("'", "''") }}' as record_id
        {%- endfor %}
    {%- endif %}
{%- endmacro %}


{#- (record_type, record_id) of the rows of the model that a steward decision applied to when
    they were computed (override_id not null), as a list of pairs. Read while the model is
    rendered: its body and its pre-hook both list them before the pre-hook deletes the rows, so
    the body recomputes what the pre-hook deleted. A handful of records (those carrying a pair
    a steward decided on), hence a literal list rather than a read of the model's own table in
    the body, which runs after the delete. -#}
{% macro identity_held_decisions() -%}
    {%- if not is_incremental() or not execute -%}
        {{ return([]) }}
    {%- else -%}
        {{ return(run_query(
            'select distinct record_type, record_id from ' ~ this
            ~ ' where override_id is not null order by record_type, record_id'
        ).rows) }}
    {%- endif -%}
{%- endmacro %}


{#- The records a model kept by record recomputes tonight: identity_changed_records() with the
    reasons its config declares (identity_records_config). The pre-hook that deletes and the body
    that recomputes both call this, so the two can never disagree on which records change: a
    record deleted and not recomputed would silently lose its rows. -#}
{% macro identity_model_changed_records(since) -%}
    {%- set reasons = (config.get('meta') or {}).get('identity_record_changes') -%}
    {%- if reasons is none -%}
        {{ exceptions.raise_compiler_error(
            "identity_model_changed_records() is for models configured with "
            ~ "clientbase.identity_records_config()"
        ) }}
    {%- else -%}
        {{ clientbase.identity_changed_records(
            since,
            resolution_changes=reasons.resolution_changes,
            steward_decisions=reasons.steward_decisions,
        ) }}
    {%- endif -%}
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
                from ({{ clientbase.identity_model_changed_records(since) }}) as changed
                where
                    changed.record_type = held.record_type
                    and changed.record_id = held.record_id
            )
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#- The config of a model kept by record; `resolution_changes`: its records also change with
    the resolution of their identifiers; `steward_decisions`: and with the steward decisions on
    their pairs (the model holds override_id). Declared once, in the model's meta, where the
    pre-hook and the body read them (identity_model_changed_records). -#}
{% macro identity_records_config(resolution_changes=false, steward_decisions=false, run_stamped=false) -%}
    {{ config(
        materialized=clientbase.upsert_materialization(),
        incremental_strategy='append',
        on_schema_change='fail',
        meta={'identity_record_changes': {
            'resolution_changes': resolution_changes,
            'steward_decisions': steward_decisions,
        }, 'run_stamped': run_stamped},
        pre_hook="{{ clientbase.identity_records_pre_hook() }}",
    ) }}
{%- endmacro %}


{#- Post-hook of int_identifiers_resolved: drops the identifiers no record carries any more (the
    upsert only writes the identifiers of tonight's graph). Their records were restaged, so the
    models kept by record recompute them anyway. -#}
{% macro identity_resolved_post_hook() -%}
    {%- if is_incremental() %}
        delete from {{ this }} as held
        where not exists (
            select 1
            from {{ ref('int_identifiers_numbered') }} as numbered
            where numbered.identifier_key = held.identifier_key
        )
    {%- endif -%}
{%- endmacro %}
