{#-
    Incremental models on both engines.

    dbt-duckdb upserts a table by its unique_key (`delete+insert`). dbt-spark can only upsert
    (`merge`) into a Delta, Iceberg or Hudi table; over plain Parquet - what a local Spark session
    has, and the project's default (env var CLIENTBASE_SPARK_FILE_FORMAT, the `+file_format` of
    every model in dbt_project.yml) - it can append, or overwrite whole partitions
    (`insert_overwrite`).
    The project therefore has two kinds of incremental models, and one macro pair for each:

    - Upserted facts (fct_orders, fct_order_lines): rows change after they were written (an order
      is returned, a customer merged), and every row can be rebuilt from staging. Where the
      engine cannot upsert, they are rebuilt as tables on every run - same rows, more work.
      Their whole config is upsert_config(unique_key) below:
          materialized=clientbase.upsert_materialization(),
          incremental_strategy=clientbase.upsert_strategy()

    - Ledgers (hygiene_daily, identity_graph_health, identity_changes): one set of rows per build,
      keyed by the build (date or id), earlier builds never recomputed and never derivable again.
      On Parquet, the ledger is partitioned by that key and a run overwrites its own partition
      only (dynamic partition overwrite), which is the same "append, or replace the same build":
          materialized='incremental',
          incremental_strategy=clientbase.ledger_strategy(),
          partition_by=clientbase.ledger_partition_by('build_date')

    A third kind, tables recomputed whole that barely change between nights (the RFM history,
    the order and consent unions), is synchronised instead: sync_config(unique_key) in
    incremental_sync.sql, which on DuckDB writes only the rows that differ and on Spark
    rebuilds a table.

    With CLIENTBASE_SPARK_FILE_FORMAT=delta on a cluster that has Delta Lake, both kinds merge by
    unique_key on Spark as well. (An environment variable, not a dbt var: dbt_project.yml
    cannot render a var() while --vars holds a YAML date such as as_of_date.)
-#}

{% macro spark_can_merge() -%}
    {{ return(env_var('CLIENTBASE_SPARK_FILE_FORMAT', 'parquet') in ['delta', 'iceberg', 'hudi']) }}
{%- endmacro %}


{% macro upsert_materialization() -%}
    {{ return('table' if target.type == 'spark' and not clientbase.spark_can_merge() else 'incremental') }}
{%- endmacro %}


{% macro upsert_strategy() -%}
    {{ return('merge' if target.type == 'spark' else 'delete+insert') }}
{%- endmacro %}


{#- The config of an upserted model: upserted by `unique_key`, rebuilt as a table where the
    engine cannot upsert, and failing on a column change (a changed model needs --full-refresh,
    not a silent partial column). A model adds its hooks with a config() call of its own.
    `run_stamped`: every row the model writes carries staged_at() as `_staged_at`, so its
    row-level data tests check the rows written since they last passed
    (data_tests_since_last_pass.sql). -#}
{% macro upsert_config(unique_key, run_stamped=false) -%}
    {{ config(
        materialized=clientbase.upsert_materialization(),
        unique_key=unique_key,
        incremental_strategy=clientbase.upsert_strategy(),
        on_schema_change='fail',
        meta={'run_stamped': run_stamped},
    ) }}
{%- endmacro %}


{% macro ledger_strategy() -%}
    {%- if target.type == 'spark' -%}
        {{ return('merge' if clientbase.spark_can_merge() else 'insert_overwrite') }}
    {%- endif -%}
    {{ return('delete+insert') }}
{%- endmacro %}


{#- The partition column of a ledger where its engine overwrites partitions; none elsewhere
    (DuckDB tables have no partitions and dbt-duckdb warns about the config). -#}
{% macro ledger_partition_by(column) -%}
    {{ return([column] if target.type == 'spark' and not clientbase.spark_can_merge() else none) }}
{%- endmacro %}
