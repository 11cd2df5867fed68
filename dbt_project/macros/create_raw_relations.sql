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
            {#- No union_by_name: extraction writes the table's full column list into every file
                (empty days included), so the first file's schema is every file's, as the Spark
                macro below also relies on. union_by_name reads the footer of every file when the
                view is bound: ~13k files on size L cost ~30 s per dbt invocation (M's web events,
                730 files: 2.2 s against 0.2 s). A file with other columns (written by another
                version of the extraction schema) fails the query loudly; re-extract it. -#}
            {% do run_query(
                "create or replace view raw." ~ source.identifier ~ " as select * from read_parquet('"
                ~ glob ~ "', hive_partitioning = true)"
            ) %}
        {% endfor %}
    {% endif %}
    select 1
{% endmacro %}

{#-
    Spark: a view per source over its folder, read with Spark's Parquet reader, which finds the
    `partition_date=` folders itself (typed date, like DuckDB's hive_partitioning) and lists the
    files again at every query, so partitions extracted since the last run are always seen. A
    view and not an external table: a partitioned table would need `msck repair` to register
    every day folder in the metastore, which costs far more than the listing on each read.
    Extraction writes the full column list into every file (also for empty days), so the schema
    of one file is the schema of all, which is what Spark reads by default.
    `raw_dir` must be absolute, or a URI the cluster can read (s3a://, abfss://, hdfs://): Spark
    resolves a relative path against the driver's working directory.
-#}
{% macro spark__create_raw_relations() %}
    {% if execute %}
        {% do run_query('create database if not exists raw') %}
        {% for source in raw_sources() %}
            {% do run_query(
                "create or replace view raw." ~ source.identifier ~ " as select * from parquet.`"
                ~ source.path ~ "`"
            ) %}
        {% endfor %}
    {% endif %}
    select 1
{% endmacro %}
