{#-
    dbt.listagg on Spark, with its order_by_clause honoured.

    dbt-spark's own spark__listagg ignores the order (it warns and concatenates in whatever order
    the shuffle delivered the rows), so the same model gives different text on DuckDB and
    Spark, and on Spark from one run to the next. The project's dispatch config searches
    clientbase before dbt, so this implementation replaces it: collect (sort keys, value) structs,
    sort them with a comparator built from the order_by_clause (asc/desc; nulls last unless
    written otherwise, DuckDB's default for both directions), then join the values.

    order_by_clause: `order by <expr> [asc|desc] [nulls first|last], ...`; commas inside
    parentheses or quotes are handled.
-#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- set keys = clientbase.listagg_order_keys(order_by_clause) -%}
    {%- set fields = [] -%}
    {%- for key in keys -%}
        {%- do fields.append("'k" ~ loop.index ~ "', " ~ key.expr) -%}
    {%- endfor -%}
    {%- do fields.append("'v', " ~ measure) -%}
    {%- set collected = 'collect_list(named_struct(' ~ fields | join(', ') ~ '))' -%}
    {%- if keys -%}
        {%- set comparisons = [] -%}
        {%- for key in keys -%}
            {%- set l = 'l.k' ~ loop.index -%}
            {%- set r = 'r.k' ~ loop.index -%}
            {%- set before = '-1' if key.descending == false else '1' -%}
            {%- set after = '1' if key.descending == false else '-1' -%}
            {%- set null_first = '-1' if key.nulls_first else '1' -%}
            {%- do comparisons.append(
                'when ' ~ l ~ ' is null and ' ~ r ~ ' is null then null'
                ~ ' when ' ~ l ~ ' is null then ' ~ null_first
                ~ ' when ' ~ r ~ ' is null then ' ~ (null_first | int * -1)
                ~ ' when ' ~ l ~ ' < ' ~ r ~ ' then ' ~ before
                ~ ' when ' ~ l ~ ' > ' ~ r ~ ' then ' ~ after) -%}
        {%- endfor -%}
        {#- each key decides unless equal (null), then the next one; ties keep 0 -#}
        {%- set comparator = namespace(sql='0') -%}
        {%- for comparison in comparisons | reverse -%}
            {%- set comparator.sql = 'coalesce(case ' ~ comparison ~ ' end, ' ~ comparator.sql ~ ')' -%}
        {%- endfor -%}
        {%- set collected = 'array_sort(' ~ collected ~ ', (l, r) -> ' ~ comparator.sql ~ ')' -%}
    {%- endif -%}
    {%- set values = 'transform(' ~ collected ~ ', x -> x.v)' -%}
    {%- if limit_num -%}
        {%- set values = 'slice(filter(' ~ values ~ ', x -> x is not null), 1, ' ~ limit_num ~ ')' -%}
    {%- endif -%}
    {#- array_join skips nulls, like string_agg -#}
    {{- return('array_join(' ~ values ~ ', ' ~ delimiter_text ~ ')') -}}
{%- endmacro %}


{#- `order by a desc, lower(b) nulls first` → [{expr, descending, nulls_first}, ...] -#}
{% macro listagg_order_keys(order_by_clause) %}
    {%- set keys = [] -%}
    {%- if order_by_clause -%}
        {%- set text = modules.re.sub('(?i)^\\s*order\\s+by\\s+', '', order_by_clause | trim) -%}
        {%- set parts = [] -%}
        {%- set state = namespace(depth=0, quote=none, current='') -%}
        {%- for ch in text -%}
            {%- if state.quote -%}
                {%- if ch == state.quote -%}{%- set state.quote = none -%}{%- endif -%}
                {%- set state.current = state.current ~ ch -%}
            {%- elif ch in ["'", '"', '`'] -%}
                {%- set state.quote = ch -%}
                {%- set state.current = state.current ~ ch -%}
            {%- elif ch == '(' -%}
                {%- set state.depth = state.depth + 1 -%}
                {%- set state.current = state.current ~ ch -%}
            {%- elif ch == ')' -%}
                {%- set state.depth = state.depth - 1 -%}
                {%- set state.current = state.current ~ ch -%}
            {%- elif ch == ',' and state.depth == 0 -%}
                {%- do parts.append(state.current) -%}
                {%- set state.current = '' -%}
            {%- else -%}
                {%- set state.current = state.current ~ ch -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do parts.append(state.current) -%}
        {%- for part in parts if part | trim -%}
            {%- set match = modules.re.match(
                '(?is)^\\s*(.*?)(?:\\s+(asc|desc))?(?:\\s+nulls\\s+(first|last))?\\s*$', part) -%}
            {%- set descending = (match.group(2) or 'asc') | lower == 'desc' -%}
            {%- set nulls = (match.group(3) or 'last') | lower -%}
            {%- do keys.append({
                'expr': match.group(1),
                'descending': descending,
                'nulls_first': nulls == 'first',
            }) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(keys) }}
{% endmacro %}
