{#- rank() of every distinct value of `value_column` within its partition, computed from the
    counts of the values instead of sorting every row: one row per (partition, value) with
    `rank_name`, the same number rank() over (partition by ... order by value <direction>) gives
    each row holding that value. Pays where a partition has far fewer values than rows (RFM's
    recency days and purchase counts: a few thousand values for a million customers). The value
    must not be null (join the result back with `=`). -#}
{% macro rank_by_value_counts(relation, partition_column, value_column, direction, rank_name) -%}
    select
        {{ partition_column }},
        {{ value_column }},
        1 + sum(value_rows) over (
            partition by {{ partition_column }} order by {{ value_column }} {{ direction }}
            rows between unbounded preceding and current row
        ) - value_rows as {{ rank_name }}
    from (
        select
            {{ partition_column }},
            {{ value_column }},
            count(*) as value_rows
        from {{ relation }}
        group by {{ partition_column }}, {{ value_column }}
    ) as value_counts
{%- endmacro %}
