{#-
    Synchronised tables: models that recompute every row each run, but whose rows barely change
    from one night to the next (closed months of RFM history, unioned event histories).

    A `table` materialisation writes every row again each night, and on DuckDB writing (and
    compressing) a large table costs more than computing it. The `sync` incremental strategy
    computes the whole result as before, into dbt's temporary relation, and then changes only
    what differs in the stored table:

        delete the stored rows that have no identical row (same unique_key, every other column
            equal, nulls equal) in the new result: changed rows and rows that are gone;
        insert the new rows whose unique_key is no longer stored: changed rows and new rows.

    Afterwards the table holds exactly the new result (a rebuild's rows), whatever it held
    before; only the differences were written. The model's SQL has no is_incremental() branch:
    a first run or --full-refresh creates the table as a rebuild would.

    A model that stamps its rows with the run's start (`_staged_at`, staged_at()) keeps the
    stamp out of the comparison: a row that did not change keeps the stamp of the run that wrote
    it, and the rows a run wrote are those stamped with its start (models downstream recompute
    what depends on them, int_customer_consents_latest).

    The unique_key must be unique in the result (its data test says so). Other engines build the
    model as a plain table, rebuilt every run (same rows): a Spark `merge` would keep the rows
    that are gone.
-#}

{% macro sync_config(unique_key, run_stamped=false) -%}
    {{ config(
        materialized=('incremental' if target.type == 'duckdb' else 'table'),
        unique_key=unique_key,
        incremental_strategy=('sync' if target.type == 'duckdb' else none),
        on_schema_change='fail',
        meta={'run_stamped': run_stamped},
    ) }}
{%- endmacro %}


{% macro get_incremental_sync_sql(arg_dict) -%}
    {%- set target_relation = arg_dict['target_relation'] -%}
    {%- set computed_relation = arg_dict['temp_relation'] -%}
    {%- set unique_key = arg_dict['unique_key'] -%}
    {%- set keys = [unique_key] if unique_key is string else (unique_key or []) -%}
    {%- if keys | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "incremental_strategy 'sync' needs a unique_key (" ~ target_relation ~ ")") }}
    {%- endif -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') %}
    {#- a run stamp is not compared: a row that is otherwise identical keeps the stamp of the
        run that wrote it -#}
    {%- set compared = arg_dict['dest_columns'] | rejectattr('name', 'equalto', '_staged_at')
        | map(attribute='quoted') | join(', ') %}

    -- stored rows without an identical computed row (EXCEPT compares whole rows, nulls equal:
    -- one hash pass, where a join on the key with a per-column comparison took 3x as long)
    delete from {{ target_relation }} as stored
    where exists (
        select 1
        from (
            select {{ compared }} from {{ target_relation }}
            except
            select {{ compared }} from {{ computed_relation }}
        ) as differing
        where {{ clientbase.sync_keys_equal('differing', 'stored', keys) }}
    );

    -- what is left is identical to its computed row: add the computed rows it lacks
    insert into {{ target_relation }} ({{ columns }})
    select {{ columns }}
    from {{ computed_relation }} as computed
    where not exists (
        select 1
        from {{ target_relation }} as stored
        where {{ clientbase.sync_keys_equal('stored', 'computed', keys) }}
    )
{%- endmacro %}


{#- `left`.key = `right`.key for every key column, joined by `and`. -#}
{% macro sync_keys_equal(left, right, keys) -%}
    {%- for key in keys -%}
        {{ left }}.{{ key }} = {{ right }}.{{ key }}{% if not loop.last %} and {% endif %}
    {%- endfor -%}
{%- endmacro %}
