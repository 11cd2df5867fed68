{#-
    Compaction of the tables a build deletes rows from, where their deleted rows have grown
    (on-run-end; DuckDB only).

    A night deletes and re-inserts the rows it recomputes in the tables kept by key (size L:
    ~9% of int_identifiers_unioned, int_identifiers_numbered, dim_contacts). DuckDB reclaims
    deleted rows when a checkpoint vacuums a table: it rewrites a run of consecutive row groups
    into fewer when their remaining rows fit (at most 4 into 3). Automatic checkpoints run at a
    commit when no other dbt thread is writing, so in a build they land where one node runs
    alone: in the size-L night of 9e8c90c, 3.97 s at int_identity_override_pairs' commit (on the
    identity chain) and 6.44 s at the last node's. Five simulated nights on a copy of
    int_identifiers_unioned (23M rows, 9% deleted and re-inserted each): with vacuuming, the
    checkpoints took 0.3-0.7 s for three nights, then 5.9 and 5.5 s (13.1 s in all); without,
    0.2-0.5 s (1.8 s), the deleted share reaching 31%, and compacting it then took 5.7 s.

    profiles.yml therefore sets max_vacuum_tasks to 0: the build's checkpoints write what
    changed and rewrite nothing. This hook writes the run's changes (a checkpoint without
    vacuum), then, for each table whose deleted rows reach var('compaction_deleted_share') of
    its stored rows, deletes and re-inserts one of its rows in a transaction (the table's rows
    are unchanged), and checkpoints once more with vacuuming allowed: the tables so touched are
    the ones compacted, as far as their row groups merge (tests/test_compaction.py: 74% of the
    deleted rows of a table of nine row groups with 40% deleted). At 9% a night that is about
    every fourth night; until then a table's scans skip up to that share of deleted rows.
    Tables with a key constraint are left out (DuckDB refuses to delete and re-insert a key in
    one transaction): only audit.data_test_passes, a few hundred rows.
-#}
{% macro compact_deleted_rows() -%}
    {%- if execute and target.type == 'duckdb' -%}
        {%- set threshold = var('compaction_deleted_share', 0.3) | float -%}
        {%- set vacuum_tasks = run_query(
            "select current_setting('max_vacuum_tasks')").columns[0].values()[0] -%}
        {%- do run_query('checkpoint') -%}
        {%- set tables = run_query(
            "select schema_name, table_name, estimated_size from duckdb_tables()"
            ~ " where database_name = current_database() and not temporary"
            ~ " and estimated_size > 0 and not has_primary_key and index_count = 0") -%}
        {%- set relations = [] -%}
        {%- set counts = [] -%}
        {%- for row in tables.rows -%}
            {%- set relation = adapter.quote(row[0]) ~ '.' ~ adapter.quote(row[1]) -%}
            {%- do relations.append(relation) -%}
            {%- do counts.append(
                'select ' ~ loop.index0 ~ ' as position, count(*) as live from ' ~ relation) -%}
        {%- endfor -%}
        {#- every table's live rows in one query -#}
        {%- set live_rows = run_query(counts | join(' union all ')).rows if counts else [] -%}
        {%- set to_compact = [] -%}
        {%- for position, live in live_rows -%}
            {%- set stored = tables.rows[position | int][2] -%}
            {%- set deleted_share = 1 - live / stored -%}
            {%- if deleted_share >= threshold and live > 0 -%}
                {%- do to_compact.append(
                    (relations[position | int], stored - live, deleted_share)) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if to_compact -%}
            {%- do run_query('set max_vacuum_tasks = 100') -%}
            {%- for relation, deleted, deleted_share in to_compact -%}
                {%- do run_query(
                    "begin;"
                    ~ " create temp table clientbase_compaction_row as select * from " ~ relation
                    ~ " where rowid = (select min(rowid) from " ~ relation ~ ");"
                    ~ " delete from " ~ relation
                    ~ " where rowid = (select min(rowid) from " ~ relation ~ ");"
                    ~ " insert into " ~ relation ~ " select * from clientbase_compaction_row;"
                    ~ " drop table clientbase_compaction_row;"
                    ~ " commit") -%}
                {%- do log(
                    "compacting " ~ relation ~ ": " ~ deleted ~ " deleted rows ("
                    ~ (100 * deleted_share) | round(1) ~ "% of its stored rows)", info=true) -%}
            {%- endfor -%}
            {%- do run_query('checkpoint') -%}
            {%- do run_query('set max_vacuum_tasks = ' ~ vacuum_tasks) -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
