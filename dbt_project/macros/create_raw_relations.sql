{#-
    Expose the raw Parquet zone written by extraction as relations in the `raw` schema, so that
    staging can call source() like on any warehouse. Convention: the source table whose
    identifier is `<system>__<table>` lives under `<raw_dir>/<system>/<table>/`, in hive-style
    `partition_date=YYYY-MM-DD/` folders for daily sources.
-#}
{% macro create_raw_relations() %}
    {{ return(adapter.dispatch('create_raw_relations', 'clientbase')()) }}
{% endmacro %}

{% macro raw_sources() %}
    {%- set found = [] -%}
    {%- for node in graph.sources.values() if node.schema == 'raw' -%}
        {%- set system, table = node.identifier.split('__') -%}
        {%- do found.append({
            'identifier': node.identifier,
            'path': var('raw_dir') ~ '/' ~ system ~ '/' ~ table,
        }) -%}
    {%- endfor -%}
    {{ return(found) }}
{% endmacro %}

{% macro duckdb__create_raw_relations() %}
    {% if execute %}
        {% do run_query('create schema if not exists raw') %}
        {% for source in raw_sources() %}
            {% set glob = source.path ~ '/**/*.parquet' %}
            {% set found = run_query("select count(*) from glob('" ~ glob ~ "')").columns[0].values()[0] %}
            {% if found == 0 %}
                {{ exceptions.raise_compiler_error(
                    "No raw Parquet files for source table '" ~ source.identifier ~ "' under "
                    ~ source.path ~ ". Run extraction first (`clientbase extract` or the Dagster "
                    ~ "extraction assets), or point CLIENTBASE_DATA_DIR at the data folder."
                ) }}
            {% endif %}
            {% do run_query(
                "create or replace view raw." ~ source.identifier ~ " as select * from read_parquet('"
                ~ glob ~ "', hive_partitioning = true, union_by_name = true)"
            ) %}
        {% endfor %}
    {% endif %}
    select 1
{% endmacro %}

{#-
    Spark: an external (unmanaged) Parquet table per source over its folder. Spark infers the
    columns from the files (mergeSchema, like DuckDB's union_by_name) and the partition column
    from the `partition_date=` folder names (typed date, like DuckDB's hive_partitioning), and
    `msck repair` registers the partitions in the metastore. Dropping an external table never
    deletes its files. Re-created on every run, so partitions extracted since the last run are
    seen. `raw_dir` must be absolute or a URI the cluster can read (s3a://, abfss://, hdfs://):
    a relative path would be resolved against the driver's working directory.
-#}
{% macro spark__create_raw_relations() %}
    {% if execute %}
        {% do run_query('create database if not exists raw') %}
        {% for source in raw_sources() %}
            {% set relation = 'raw.' ~ source.identifier %}
            {% do run_query('drop table if exists ' ~ relation) %}
            {% do run_query(
                "create table " ~ relation ~ " using parquet options (mergeSchema 'true') location '"
                ~ source.path ~ "'"
            ) %}
            {#- Only daily tables are partitioned; msck fails on the reference snapshots. -#}
            {% set described = run_query('describe table ' ~ relation) %}
            {% if '# Partition Information' in described.columns[0].values() %}
                {% do run_query('msck repair table ' ~ relation) %}
            {% endif %}
        {% endfor %}
    {% endif %}
    select 1
{% endmacro %}
