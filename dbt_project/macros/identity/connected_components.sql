{#-
    Connected components of an undirected graph, in SQL, as a dbt materialization.

    The model's SQL returns the edge list: two integer columns `node_a`, `node_b`
    (0 <= id < 2^31 - 1). A row with node_a = node_b declares a node without edges.
    The materialization writes a table (node_id, component_id) where component_id is the
    smallest node_id of the node's component, so the result does not depend on the random
    choices made on the way.

    Algorithm: randomised contraction (Bögeholz, Brand & Todor, "In-database connected
    component analysis", ICDE 2020). Each round draws a random bijection h(v) = (a*v + b) mod p
    with p = 2^31 - 1, maps every vertex to the smallest h over its closed neighbourhood and
    contracts the edges accordingly. On any graph, a constant expected share of vertices
    disappears per round, so the number of rounds grows like log(n) - also on long chains,
    where min-label propagation would need one round per link. A node whose contracted vertex
    has no edge left is finished: it is set aside in the `finished` table and no later round
    touches it. The walk from a node to its final vertex is kept as the node's `label`,
    updated by one join per round.

    Configuration (model config or project vars):
      max_rounds  (var identity_components_max_rounds, default 64): the build fails loudly
                  when edges remain after this many rounds; half-merged clusters are never
                  written.
      seed        (var identity_components_seed): seeds the per-round hash parameters, so a
                  build is reproducible.
    Every round is logged into `<schema>.identity_component_rounds` (invocation, model, round,
    edges and nodes still active, nodes finished), which is how the test checks that rounds
    grow like log(n), and how the graph-health checks report them.

    Everything engine-specific is behind adapter.dispatch (identity_cc_* macros below).
-#}

{% materialization connected_components, default %}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set max_rounds = (config.get('max_rounds') or var('identity_components_max_rounds', 64)) | int -%}
    {%- set seed = config.get('seed') or var('identity_components_seed', 20260101) -%}
    {%- set prime = 2147483647 -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- set log_relation = api.Relation.create(
        database=this.database, schema=this.schema,
        identifier='identity_component_rounds', type='table') -%}
    {% do clientbase.identity_cc_create_log_table(log_relation) %}
    {#- known to the relation cache from now on, so models built later in the same run
        (identity_graph_health) find the log on a first build too -#}
    {% do adapter.cache_added(log_relation) %}

    {#- Work tables live beside the target and are dropped as soon as they are used up. -#}
    {%- set work = {} -%}
    {%- for name in ['input', 'edges_a', 'edges_b', 'labels_a', 'labels_b', 'rep', 'finished', 'result'] -%}
        {%- do work.update({name: api.Relation.create(
            database=this.database, schema=this.schema,
            identifier=this.identifier ~ '__cc_' ~ name, type='table')}) -%}
    {%- endfor -%}
    {%- for relation in work.values() -%}
        {% do adapter.drop_relation(relation) %}
    {%- endfor -%}

    {#- 1. the edge list as given, checked -#}
    {% do clientbase.identity_cc_create_table(work.input,
        'select cast(node_a as ' ~ dbt.type_bigint() ~ ') as node_a, cast(node_b as '
        ~ dbt.type_bigint() ~ ') as node_b from (' ~ compiled_code ~ ') as model_edges') %}
    {%- set stats = run_query(
        'select count(*), sum(case when node_a is null or node_b is null then 1 else 0 end), '
        ~ 'min(least(node_a, node_b)), max(greatest(node_a, node_b)) from ' ~ work.input) -%}
    {%- set input_rows = stats.rows[0][0] | int -%}
    {%- if (stats.rows[0][1] or 0) | int > 0 -%}
        {{ exceptions.raise_compiler_error(
            model.name ~ ': the edge list has ' ~ stats.rows[0][1] ~ ' rows with a null node id; '
            ~ 'connected_components needs integer ids in node_a and node_b') }}
    {%- endif -%}
    {%- if input_rows > 0 and ((stats.rows[0][2] | int) < 0 or (stats.rows[0][3] | int) >= prime) -%}
        {{ exceptions.raise_compiler_error(
            model.name ~ ': node ids must lie in [0, ' ~ prime ~ '); found ' ~ stats.rows[0][2]
            ~ '..' ~ stats.rows[0][3] ~ '. Map identifiers to dense integers first.') }}
    {%- endif -%}

    {#- 2. undirected simple edges (a < b); labels start as the node itself -#}
    {% do clientbase.identity_cc_create_table(work.edges_a,
        'select distinct least(node_a, node_b) as src, greatest(node_a, node_b) as dst from '
        ~ work.input ~ ' where node_a <> node_b') %}
    {% do clientbase.identity_cc_create_table(work.labels_a,
        'select node_id, node_id as label from (select src as node_id from ' ~ work.edges_a
        ~ ' union select dst as node_id from ' ~ work.edges_a ~ ') as active_nodes') %}
    {% do clientbase.identity_cc_create_table(work.finished,
        'select node_id, cast(0 as ' ~ dbt.type_int() ~ ') as finished_round, node_id as label from ('
        ~ 'select node_a as node_id from ' ~ work.input ~ ' union select node_b as node_id from '
        ~ work.input ~ ') as all_nodes where node_id not in (select node_id from '
        ~ work.labels_a ~ ')') %}

    {%- set state = namespace(
        edges=work.edges_a, spare_edges=work.edges_b,
        labels=work.labels_a, spare_labels=work.labels_b,
        rng=seed | int, rounds=0, active_edges=0, done=false) -%}
    {%- set state.active_edges = run_query('select count(*) from ' ~ state.edges).rows[0][0] | int -%}
    {%- set state.done = state.active_edges == 0 -%}

    {#- 3. contraction rounds -#}
    {%- for round_number in range(1, max_rounds + 1) if not state.done -%}
        {#- Lehmer generator: deterministic for a seed, different for every round -#}
        {%- set state.rng = (state.rng * 48271) % prime -%}
        {%- set multiplier = (state.rng % (prime - 1)) + 1 -%}
        {%- set state.rng = (state.rng * 48271) % prime -%}
        {%- set offset = state.rng -%}
        {%- set h_src = clientbase.identity_cc_hash('src', multiplier, offset, prime) -%}
        {%- set h_dst = clientbase.identity_cc_hash('dst', multiplier, offset, prime) -%}

        {#- each vertex goes to the smallest hash in its closed neighbourhood -#}
        {% do clientbase.identity_cc_create_table(work.rep,
            'select vertex, min(hashed) as rep from ('
            ~ ' select src as vertex, ' ~ h_src ~ ' as hashed from ' ~ state.edges
            ~ ' union all select dst as vertex, ' ~ h_dst ~ ' as hashed from ' ~ state.edges
            ~ ' union all select src as vertex, ' ~ h_dst ~ ' as hashed from ' ~ state.edges
            ~ ' union all select dst as vertex, ' ~ h_src ~ ' as hashed from ' ~ state.edges
            ~ ') as neighbourhood group by vertex') %}

        {#- contract the edges -#}
        {% do adapter.drop_relation(state.spare_edges) %}
        {% do clientbase.identity_cc_create_table(state.spare_edges,
            'select distinct least(rep_src.rep, rep_dst.rep) as src, greatest(rep_src.rep, rep_dst.rep) as dst'
            ~ ' from ' ~ state.edges ~ ' as e'
            ~ ' inner join ' ~ work.rep ~ ' as rep_src on e.src = rep_src.vertex'
            ~ ' inner join ' ~ work.rep ~ ' as rep_dst on e.dst = rep_dst.vertex'
            ~ ' where rep_src.rep <> rep_dst.rep') %}

        {#- follow every active node to its contracted vertex -#}
        {% do adapter.drop_relation(state.spare_labels) %}
        {% do clientbase.identity_cc_create_table(state.spare_labels,
            'select l.node_id, r.rep as label from ' ~ state.labels ~ ' as l'
            ~ ' inner join ' ~ work.rep ~ ' as r on l.label = r.vertex') %}

        {#- vertices without edges are finished components: set their nodes aside -#}
        {%- set live_vertices = '(select src from ' ~ state.spare_edges
            ~ ' union select dst from ' ~ state.spare_edges ~ ')' -%}
        {% do clientbase.identity_cc_insert(work.finished,
            'select node_id, ' ~ round_number ~ ' as finished_round, label from ' ~ state.spare_labels
            ~ ' where label not in ' ~ live_vertices) %}
        {%- set swap_labels = state.labels -%}
        {% do adapter.drop_relation(swap_labels) %}
        {% do clientbase.identity_cc_create_table(swap_labels,
            'select node_id, label from ' ~ state.spare_labels ~ ' where label in ' ~ live_vertices) %}
        {% do adapter.drop_relation(state.spare_labels) %}
        {% do adapter.drop_relation(work.rep) %}

        {#- the contracted edges become the current ones -#}
        {%- set old_edges = state.edges -%}
        {%- set state.edges = state.spare_edges -%}
        {%- set state.spare_edges = old_edges -%}
        {%- set state.rounds = round_number -%}
        {%- set counts = run_query(
            'select (select count(*) from ' ~ state.edges ~ '), (select count(*) from '
            ~ state.labels ~ '), (select count(*) from ' ~ work.finished ~ ')').rows[0] -%}
        {%- set state.active_edges = counts[0] | int -%}
        {% do clientbase.identity_cc_insert(log_relation,
            "select '" ~ invocation_id ~ "', '" ~ model.name ~ "', " ~ round_number ~ ", "
            ~ counts[0] ~ ", " ~ counts[1] ~ ", " ~ counts[2] ~ ", " ~ input_rows ~ ", "
            ~ "current_timestamp") %}
        {%- set state.done = state.active_edges == 0 -%}
    {%- endfor -%}

    {%- if not state.done -%}
        {%- for relation in work.values() -%}
            {% do adapter.drop_relation(relation) %}
        {%- endfor -%}
        {% do adapter.commit() %}
        {{ exceptions.raise_compiler_error(
            model.name ~ ': connected components did not converge within ' ~ max_rounds
            ~ ' rounds (' ~ state.active_edges ~ ' contracted edges left). Refusing to write '
            ~ 'half-merged clusters. Raise var identity_components_max_rounds only after checking '
            ~ 'the graph: the expected number of rounds is about log1.5(number of nodes).') }}
    {%- endif -%}

    {#- 4. component id = smallest node id of the component -#}
    {% call statement('main') -%}
        {{ clientbase.identity_cc_create_table_sql(work.result,
            'select node_id, min(node_id) over (partition by finished_round, label) as component_id'
            ~ ' from ' ~ work.finished) }}
    {%- endcall %}
    {% if existing_relation is not none %}
        {% do adapter.drop_relation(existing_relation) %}
    {% endif %}
    {% do adapter.rename_relation(work.result, target_relation) %}

    {%- for name, relation in work.items() if name != 'result' -%}
        {% do adapter.drop_relation(relation) %}
    {%- endfor -%}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do persist_docs(target_relation, model) %}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ log(model.name ~ ': connected components in ' ~ state.rounds ~ ' rounds', info=True) }}
    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{#- (a*v + b) mod p for 0 <= v, a < p = 2^31 - 1: fits in a signed 64-bit integer. -#}
{% macro identity_cc_hash(column, multiplier, offset, prime) %}
    {{ return(adapter.dispatch('identity_cc_hash', 'clientbase')(column, multiplier, offset, prime)) }}
{% endmacro %}

{% macro default__identity_cc_hash(column, multiplier, offset, prime) %}
    {{- return('((' ~ multiplier ~ ' * ' ~ column ~ ' + ' ~ offset ~ ') % ' ~ prime ~ ')') -}}
{% endmacro %}

{% macro duckdb__identity_cc_hash(column, multiplier, offset, prime) %}
    {#- DuckDB would infer INTEGER for the literals and multiply in 32 bits: force BIGINT -#}
    {{- return('((cast(' ~ multiplier ~ ' as bigint) * ' ~ column ~ ' + cast(' ~ offset
        ~ ' as bigint)) % cast(' ~ prime ~ ' as bigint))') -}}
{% endmacro %}

{% macro spark__identity_cc_hash(column, multiplier, offset, prime) %}
    {#- pmod keeps the result non-negative; literals above 2^31 are bigint in Spark already -#}
    {{- return('pmod(cast(' ~ multiplier ~ ' as bigint) * ' ~ column ~ ' + cast(' ~ offset
        ~ ' as bigint), cast(' ~ prime ~ ' as bigint))') -}}
{% endmacro %}


{#- Work tables: plain tables, replaced if a failed run left one behind. -#}
{% macro identity_cc_create_table_sql(relation, select_sql) %}
    {{ return(adapter.dispatch('identity_cc_create_table_sql', 'clientbase')(relation, select_sql)) }}
{% endmacro %}

{% macro default__identity_cc_create_table_sql(relation, select_sql) %}
    create table {{ relation }} as {{ select_sql }}
{% endmacro %}

{% macro duckdb__identity_cc_create_table_sql(relation, select_sql) %}
    create or replace table {{ relation }} as {{ select_sql }}
{% endmacro %}

{% macro spark__identity_cc_create_table_sql(relation, select_sql) %}
    {#- Spark's built-in catalog has no CREATE OR REPLACE for Parquet tables (only for Delta and
        other v2 tables); the materialization drops every work table before re-creating it. -#}
    create table {{ relation }} using parquet as {{ select_sql }}
{% endmacro %}

{% macro identity_cc_create_table(relation, select_sql) %}
    {% do run_query(clientbase.identity_cc_create_table_sql(relation, select_sql)) %}
{% endmacro %}

{% macro identity_cc_insert(relation, select_sql) %}
    {% do run_query('insert into ' ~ relation ~ ' ' ~ select_sql) %}
{% endmacro %}


{#- The round log survives builds (it is not a model), so it is created on first use. -#}
{% macro identity_cc_create_log_table(relation) %}
    {{ return(adapter.dispatch('identity_cc_create_log_table', 'clientbase')(relation)) }}
{% endmacro %}

{% macro identity_cc_log_columns() %}
    (
        invocation_id {{ dbt.type_string() }},
        model_name {{ dbt.type_string() }},
        round_number {{ dbt.type_int() }},
        active_edges {{ dbt.type_bigint() }},
        active_nodes {{ dbt.type_bigint() }},
        finished_nodes {{ dbt.type_bigint() }},
        input_edges {{ dbt.type_bigint() }},
        logged_at {{ dbt.type_timestamp() }}
    )
{% endmacro %}

{% macro default__identity_cc_create_log_table(relation) %}
    {% do run_query('create table if not exists ' ~ relation ~ ' ' ~ clientbase.identity_cc_log_columns()) %}
{% endmacro %}

{% macro duckdb__identity_cc_create_log_table(relation) %}
    {% do run_query('create schema if not exists ' ~ relation.without_identifier()) %}
    {% do run_query('create table if not exists ' ~ relation ~ ' ' ~ clientbase.identity_cc_log_columns()) %}
{% endmacro %}

{% macro spark__identity_cc_create_log_table(relation) %}
    {% do run_query('create database if not exists ' ~ relation.schema) %}
    {% do run_query('create table if not exists ' ~ relation ~ ' '
        ~ clientbase.identity_cc_log_columns() ~ ' using parquet') %}
{% endmacro %}
