{#-
    dbt's `unique` data test on DuckDB: the same rows as dbt's own (every non-null value held more
    than once, with how often), found in two steps. A first pass groups a 64-bit hash of the
    column, so the big grouping is over integers instead of long text keys (md5 ids, event ids);
    only the values whose hash occurs twice are then grouped by value, which confirms a real
    duplicate and discards a hash collision. Size L: customer_identity_edges (21.6M md5 ids)
    4.3 -> 1.9 s, stg_web__events (39.5M event ids) 7.0 -> 4.0 s.
    The project's dispatch config searches clientbase before dbt, so this wins on DuckDB; other
    engines keep dbt's `default__test_unique`.
    On a run-stamped model whose test passed before, only the values of the rows written since
    are counted, over the whole table (data_tests_since_last_pass.sql).
-#}
{% macro duckdb__test_unique(model, column_name) %}
{#- on a run-stamped model, only the values of the rows written since the test last passed can
    be held twice (data_tests_since_last_pass.sql): each is counted over the whole table -#}
{%- set window = clientbase.data_test_window() %}
{%- if window %}

with

candidate_values as (
    select distinct {{ column_name }} as candidate_value
    from {{ model }}
    where {{ window }} and {{ column_name }} is not null
)

select
    {{ column_name }} as unique_field,
    count(*) as n_records
from {{ model }}
where {{ column_name }} in (select candidate_value from candidate_values)
group by {{ column_name }}
having count(*) > 1

{%- else %}

with

repeated_hashes as (
    select hash({{ column_name }}) as value_hash
    from {{ model }}
    where {{ column_name }} is not null
    group by hash({{ column_name }})
    having count(*) > 1
)

select
    {{ column_name }} as unique_field,
    count(*) as n_records
from {{ model }}
where
    {{ column_name }} is not null
    and hash({{ column_name }}) in (select value_hash from repeated_hashes)
group by {{ column_name }}
having count(*) > 1

{%- endif %}
{% endmacro %}
