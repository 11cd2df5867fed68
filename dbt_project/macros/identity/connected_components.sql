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
    where min-label propagation would need one round per link. A contracted vertex with no
    edge left is a finished component: no later round touches it. Rounds only touch the
    contracted graph, which shrinks geometrically; the node -> vertex map of each round is kept
    (`rep_<round>`), and at the end the maps are composed backwards, last round first, so that
    every node learns its final vertex in O(nodes) work in all, instead of relabelling every
    node in every round. A final vertex is named by (round finished, value): hash values of
    different rounds live in different spaces.

    Configuration (model config or project vars):
      max_rounds  (var identity_components_max_rounds, default 64): the build fails loudly
                  when edges remain after this many rounds; half-merged clusters are never
                  written.
      seed        (var identity_components_seed): seeds the per-round hash parameters, so a
                  build is reproducible.
    Every round is logged into `<schema>.identity_component_rounds` (invocation, model, round,
    edges and nodes still active, nodes finished), which is how the test checks that rounds
    grow like log(n), and how the graph-health checks report them.

    Incremental mode. The distinct edges of every build are kept beside the table
    (`<model>__cc_graph`). When the table and that graph exist and no edge of the last build is
    gone, the new clusters are the old ones joined by tonight's new edges only: each endpoint
    of a new edge is replaced by its old component id (a new node stands for itself), the same
    contraction rounds run over that small graph, and a node's new component is the smallest
    old component id of its group - the same table a full recompute writes (node ids must be
    stable between builds for this: int_identifier_keys). When an edge of the last build is
    gone (an exclusion, a never_link override or an erasure cut it), clusters may split, which
    no union can express: the whole graph is recomputed, and the log says why. Also on the first
    build, with --full-refresh, or with var identity_components_incremental: false.

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
    {%- for name in ['input', 'graph_next', 'edges_a', 'edges_b', 'roots_a', 'roots_b', 'result'] -%}
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

    {#- 2. undirected simple edges (a < b): tonight's graph, kept for the next build -#}
    {% do clientbase.identity_cc_create_table(work.graph_next,
        'select distinct least(node_a, node_b) as src, greatest(node_a, node_b) as dst from '
        ~ work.input ~ ' where node_a <> node_b') %}
    {%- set graph_relation = api.Relation.create(
        database=this.database, schema=this.schema,
        identifier=this.identifier ~ '__cc_graph', type='table') -%}
    {%- set previous_graph = adapter.get_relation(
        database=this.database, schema=this.schema, identifier=this.identifier ~ '__cc_graph') -%}

    {#- 2b. incremental, or a full recompute (and why) -#}
    {%- set mode = namespace(incremental=false, reason='', added=0) -%}
    {%- if existing_relation is none -%}
        {%- set mode.reason = 'first build' -%}
    {%- elif should_full_refresh() -%}
        {%- set mode.reason = '--full-refresh' -%}
    {%- elif previous_graph is none -%}
        {%- set mode.reason = 'the last build kept no graph' -%}
    {%- elif not var('identity_components_incremental', true) -%}
        {%- set mode.reason = 'var identity_components_incremental is false' -%}
    {%- else -%}
        {%- set gone = run_query(
            'select count(*) from (select src, dst from ' ~ previous_graph ~ ' except select src, dst from '
            ~ work.graph_next ~ ') as gone').rows[0][0] | int -%}
        {%- if gone > 0 -%}
            {%- set mode.reason = gone ~ ' edge(s) of the last build are gone (an exclusion, a never_link '
                ~ 'override or an erasure cut them), so clusters may split' -%}
        {%- else -%}
            {%- set mode.incremental = true -%}
        {%- endif -%}
    {%- endif -%}

    {%- if mode.incremental -%}
        {#- new edges between last night's components (a new node stands for itself) -#}
        {% do clientbase.identity_cc_create_table(work.edges_a,
            'select distinct least(label_a, label_b) as src, greatest(label_a, label_b) as dst from ('
            ~ ' select coalesce(old_a.component_id, added.src) as label_a,'
            ~ ' coalesce(old_b.component_id, added.dst) as label_b'
            ~ ' from (select src, dst from ' ~ work.graph_next ~ ' except select src, dst from '
            ~ previous_graph ~ ') as added'
            ~ ' left join ' ~ existing_relation ~ ' as old_a on added.src = old_a.node_id'
            ~ ' left join ' ~ existing_relation ~ ' as old_b on added.dst = old_b.node_id'
            ~ ') as labelled where label_a <> label_b') %}
        {%- set mode.added = run_query('select count(*) from ' ~ work.edges_a).rows[0][0] | int -%}
        {{ log(model.name ~ ': incremental update: ' ~ mode.added ~ ' new link(s) between existing '
            ~ 'clusters; no edge of the last build is gone', info=True) }}
    {%- else -%}
        {{ log(model.name ~ ': full recompute of the identity graph: ' ~ mode.reason, info=True) }}
        {% do clientbase.identity_cc_create_table(work.edges_a,
            'select src, dst from ' ~ work.graph_next) %}
    {%- endif -%}

    {%- set state = namespace(
        edges=work.edges_a, spare_edges=work.edges_b,
        rng=seed | int, rounds=0, active_edges=0, finished=0, done=false) -%}
    {%- set state.active_edges = run_query('select count(*) from ' ~ state.edges).rows[0][0] | int -%}
    {%- set state.done = state.active_edges == 0 -%}
    {%- set reps = [] -%}

    {#- 3. contraction rounds: only the contracted graph is touched -#}
    {%- for round_number in range(1, max_rounds + 1) if not state.done -%}
        {#- Lehmer generator: deterministic for a seed, different for every round -#}
        {%- set state.rng = (state.rng * 48271) % prime -%}
        {%- set multiplier = (state.rng % (prime - 1)) + 1 -%}
        {%- set state.rng = (state.rng * 48271) % prime -%}
        {%- set offset = state.rng -%}
        {%- set h_src = clientbase.identity_cc_hash('src', multiplier, offset, prime) -%}
        {%- set h_dst = clientbase.identity_cc_hash('dst', multiplier, offset, prime) -%}

        {#- each vertex goes to the smallest hash in its closed neighbourhood -#}
        {%- set rep = api.Relation.create(
            database=this.database, schema=this.schema,
            identifier=this.identifier ~ '__cc_rep_' ~ round_number, type='table') -%}
        {% do adapter.drop_relation(rep) %}
        {% do reps.append(rep) %}
        {% do clientbase.identity_cc_create_table(rep,
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
            ~ ' inner join ' ~ rep ~ ' as rep_src on e.src = rep_src.vertex'
            ~ ' inner join ' ~ rep ~ ' as rep_dst on e.dst = rep_dst.vertex'
            ~ ' where rep_src.rep <> rep_dst.rep') %}

        {#- the contracted edges become the current ones -#}
        {%- set old_edges = state.edges -%}
        {%- set state.edges = state.spare_edges -%}
        {%- set state.spare_edges = old_edges -%}
        {%- set state.rounds = round_number -%}
        {%- set counts = run_query(
            'select (select count(*) from ' ~ state.edges ~ '), (select count(*) from (select src'
            ~ ' from ' ~ state.edges ~ ' union select dst from ' ~ state.edges ~ ') as live),'
            ~ ' (select count(distinct rep) from ' ~ rep ~ ')').rows[0] -%}
        {%- set state.active_edges = counts[0] | int -%}
        {#- vertices of the next round that have no edge left are finished components -#}
        {%- set state.finished = state.finished + (counts[2] | int) - (counts[1] | int) -%}
        {% do clientbase.identity_cc_insert(log_relation,
            "select '" ~ invocation_id ~ "', '" ~ model.name ~ "', " ~ round_number ~ ", "
            ~ counts[0] ~ ", " ~ counts[1] ~ ", " ~ state.finished ~ ", " ~ input_rows ~ ", "
            ~ "current_timestamp") %}
        {%- set state.done = state.active_edges == 0 -%}
    {%- endfor -%}

    {%- if not state.done -%}
        {%- for relation in work.values() | list + reps -%}
            {% do adapter.drop_relation(relation) %}
        {%- endfor -%}
        {% do adapter.commit() %}
        {{ exceptions.raise_compiler_error(
            model.name ~ ': connected components did not converge within ' ~ max_rounds
            ~ ' rounds (' ~ state.active_edges ~ ' contracted edges left). Refusing to write '
            ~ 'half-merged clusters. Raise var identity_components_max_rounds only after checking '
            ~ 'the graph: the expected number of rounds is about log1.5(number of nodes).') }}
    {%- endif -%}

    {#- 3b. compose the rounds' maps backwards: roots(v) = (round, vertex) it ends in. A vertex
        of round r whose rep has no entry in round r + 1 finished in round r. -#}
    {%- set roots = namespace(current=work.roots_a, spare=work.roots_b) -%}
    {%- for round_number in range(state.rounds, 0, -1) -%}
        {%- set rep = reps[round_number - 1] -%}
        {% do adapter.drop_relation(roots.spare) %}
        {%- if round_number == state.rounds -%}
            {% do clientbase.identity_cc_create_table(roots.spare,
                'select vertex, cast(' ~ round_number ~ ' as ' ~ dbt.type_int() ~ ') as root_round,'
                ~ ' rep as root from ' ~ rep) %}
        {%- else -%}
            {% do clientbase.identity_cc_create_table(roots.spare,
                'select r.vertex, coalesce(later.root_round, cast(' ~ round_number ~ ' as '
                ~ dbt.type_int() ~ ')) as root_round, coalesce(later.root, r.rep) as root'
                ~ ' from ' ~ rep ~ ' as r left join ' ~ roots.current ~ ' as later'
                ~ ' on r.rep = later.vertex') %}
        {%- endif -%}
        {% do adapter.drop_relation(roots.current) %}
        {% do adapter.drop_relation(rep) %}
        {%- set done_roots = roots.current -%}
        {%- set roots.current = roots.spare -%}
        {%- set roots.spare = done_roots -%}
    {%- endfor -%}
    {%- if state.rounds == 0 -%}
        {% do clientbase.identity_cc_create_table(roots.current,
            'select cast(null as ' ~ dbt.type_bigint() ~ ') as vertex, cast(null as '
            ~ dbt.type_int() ~ ') as root_round, cast(null as ' ~ dbt.type_bigint()
            ~ ') as root where 1 = 0') %}
    {%- endif -%}

    {#- 4. component id = smallest node id of the component. Every node starts from a label:
        itself on a full recompute; its old component (the smallest node id of it) or itself
        when updating. A group of labels joined by the rounds takes the smallest of them. -#}
    {%- set all_nodes = '(select node_a as node_id from ' ~ work.input
        ~ ' union select node_b as node_id from ' ~ work.input ~ ') as all_nodes' -%}
    {%- if mode.incremental -%}
        {%- set labelled = 'select all_nodes.node_id, coalesce(old.component_id, all_nodes.node_id)'
            ~ ' as label from ' ~ all_nodes ~ ' left join ' ~ existing_relation ~ ' as old'
            ~ ' on all_nodes.node_id = old.node_id' -%}
    {%- else -%}
        {%- set labelled = 'select node_id, node_id as label from ' ~ all_nodes -%}
    {%- endif -%}
    {% call statement('main') -%}
        {{ clientbase.identity_cc_create_table_sql(work.result,
            'select labelled.node_id, coalesce(merged.component_id, labelled.label) as component_id'
            ~ ' from (' ~ labelled ~ ') as labelled'
            ~ ' left join (select vertex, min(vertex) over (partition by root_round, root) as component_id'
            ~ ' from ' ~ roots.current ~ ') as merged on labelled.label = merged.vertex') }}
    {%- endcall %}
    {% if existing_relation is not none %}
        {% do adapter.drop_relation(existing_relation) %}
    {% endif %}
    {% do adapter.rename_relation(work.result, target_relation) %}
    {#- the graph the next build compares against -#}
    {% if previous_graph is not none %}
        {% do adapter.drop_relation(previous_graph) %}
    {% endif %}
    {% do adapter.rename_relation(work.graph_next, graph_relation) %}

    {%- for name, relation in work.items() if name not in ['result', 'graph_next'] -%}
        {% do adapter.drop_relation(relation) %}
    {%- endfor -%}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do persist_docs(target_relation, model) %}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ log(model.name ~ ': connected components in ' ~ state.rounds ~ ' rounds ('
        ~ ('incremental' if mode.incremental else 'full recompute') ~ ')', info=True) }}
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
