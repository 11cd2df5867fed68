{#-
    Data tests of run-stamped models check what changed since they last passed (DuckDB).

    A model kept incrementally whose every written row carries the writing run's start as
    `_staged_at` (`meta: run_stamped`, set by the incremental config macros) never changes a
    row without restamping it: the strategies delete, insert or rewrite whole rows, each with
    tonight's stamp. So once a row-level test (`not_null`, `accepted_values`) passed on such a
    model, every row stamped up to that run was checked and is unchanged; the next run need only
    check the rows stamped after it. `unique` compares the keys of those rows with the whole
    table (a duplicate needs at least one new row when the held rows were unique).

    The watermark is per test: `audit.data_test_passes` holds, for each such test, the start of
    the newest run in which it passed (recorded on-run-end). A test that failed or warned keeps
    its older watermark, so the rows it found stay under test until they are fixed; a new or
    changed test (its unique id carries a hash of its arguments) has none and checks everything.
    Runs are serialised by DuckDB's file lock, so no later run writes an older stamp.

    Everything else stays whole: `relationships` (a deleted parent orphans old children),
    the project's own generic and singular tests, tests of models rebuilt every night, and
    every test when var `data_tests_whole` is true (`dbt build --vars '{data_tests_whole:
    true}'`, or a manual full refresh, where all rows carry the new stamp anyway). A row
    changed by hand without a new stamp is outside this contract: check it with that var.
    Other engines test whole tables (dbt's own macros).
-#}

{#- The built-in tests that may be limited to the rows written since their last pass. -#}
{% macro data_test_window_kinds() -%}
    {{ return(['not_null', 'accepted_values', 'unique']) }}
{%- endmacro %}


{% macro data_test_passes_relation() -%}
    {{ return(api.Relation.create(
        database=target.database, schema='audit', identifier='data_test_passes')) }}
{%- endmacro %}


{#- on-run-start: the table of passes (DuckDB only). -#}
{% macro create_data_test_passes() -%}
    {%- if target.type == 'duckdb' -%}
        {%- set passes = clientbase.data_test_passes_relation() -%}
        create schema if not exists {{ passes.schema }};
        create table if not exists {{ passes }} (
            test_id varchar not null primary key,
            passed_stamp timestamp not null,
            recorded_at timestamp not null
        )
    {%- endif -%}
{%- endmacro %}


{#- Whether a test node (a dict of the graph or a result's node) may be windowed: a built-in
    test of the listed kinds on a model declared run-stamped. -#}
{% macro data_test_windowable(test_node) -%}
    {#- a graph node is a dict without `namespace` for dbt's own tests; a result's is an object -#}
    {%- set metadata = test_node.test_metadata or {'name': none} -%}
    {%- set attached = test_node.attached_node -%}
    {%- set tested = graph.nodes.get(attached) if attached else none -%}
    {{ return(
        target.type == 'duckdb'
        and metadata.name in clientbase.data_test_window_kinds()
        and not metadata.namespace
        and tested is not none
        and (tested.config.meta or {}).get('run_stamped', false)
    ) }}
{%- endmacro %}


{#- The filter of the rows the test being rendered must check (`_staged_at > <its last pass>`),
    or none for the whole table. Called while a test is rendered: `model` is the test node. -#}
{% macro data_test_window() -%}
    {%- if not execute or model.resource_type != 'test' or var('data_tests_whole', false)
          or not clientbase.data_test_windowable(model) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set tested = graph.nodes[model.attached_node] -%}
    {%- set relation = adapter.get_relation(
        database=tested.database, schema=tested.schema, identifier=tested.alias) -%}
    {%- set passes = clientbase.data_test_passes_relation() -%}
    {%- set passes_held = adapter.get_relation(
        database=passes.database, schema=passes.schema, identifier=passes.identifier) -%}
    {%- if relation is none or passes_held is none -%}
        {{ return(none) }}
    {%- endif -%}
    {#- the mark first: a first build has none, and then needs no column lookup -#}
    {%- set found = run_query(
        "select cast(max(passed_stamp) as varchar) from " ~ passes
        ~ " where test_id = '" ~ model.unique_id ~ "'") -%}
    {%- set since = found.columns[0].values()[0] -%}
    {%- if since is none -%}
        {{ return(none) }}
    {%- endif -%}
    {#- a table built before the model stamped its rows (it passed a whole test since) -#}
    {%- if '_staged_at' not in adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(clientbase.newer_than('_staged_at', since)) }}
{%- endmacro %}


{#- dbt's generic tests read their model through this macro: the `where` config, and the
    window of the row-level tests (`unique` applies its own, see test_unique.sql). -#}
{% macro duckdb__get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- set window = none -%}
    {%- if execute and model.resource_type == 'test'
          and (model.test_metadata or {'name': none}).name != 'unique' -%}
        {%- set window = clientbase.data_test_window() -%}
    {%- endif -%}
    {%- set filters = [] -%}
    {%- if where -%}
        {%- do filters.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- if window -%}
        {%- do filters.append(window) -%}
    {%- endif -%}
    {%- if filters -%}
        {%- do return("(select * from " ~ relation ~ " where " ~ filters | join(' and ') ~ ") dbt_subquery") -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}


{#- on-run-end: the run's start becomes the watermark of every windowable test that passed. -#}
{% macro record_data_test_passes(results) -%}
    {%- if execute and target.type == 'duckdb' -%}
        {%- set passed = [] -%}
        {%- for result in results -%}
            {%- if result.node.resource_type == 'test' and result.status == 'pass'
                  and clientbase.data_test_windowable(result.node) -%}
                {%- do passed.append("('" ~ result.node.unique_id ~ "')") -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if passed -%}
            {%- set passes = clientbase.data_test_passes_relation() -%}
            insert or replace into {{ passes }} (test_id, passed_stamp, recorded_at)
            select test_id, {{ clientbase.staged_at() }}, current_timestamp
            from (values {{ passed | join(', ') }}) as passed (test_id)
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
