{#-
    Columns every daily staging model types the same way, written once.
-#}

{#- The raw zone's lineage of a row, typed: landing day, file, line and load time; and when
    this run staged it (staged_at()). -#}
{% macro staging_lineage_columns() -%}
    cast(partition_date as date) as partition_date,
    _source_file,
    {{ dbt.safe_cast('_source_line', dbt.type_int()) }} as _source_line,
    cast(_loaded_at as {{ dbt.type_timestamp() }}) as _loaded_at,
    {{ clientbase.staged_at() }} as _staged_at
{%- endmacro %}


{#- The start of this dbt run (UTC, to the microsecond), as a timestamp literal: the stamp of
    every row a run writes into an incremental table. Two runs never share it (a dbt invocation
    takes seconds, and one warehouse file admits one writer), so "staged after the newest stamp a
    reader has seen" is exactly "written by a run the reader has not seen", whatever the load
    times say (macros/identity/identity_records_incremental.sql). -#}
{% macro staged_at() -%}
    {%- set started = '1970-01-01 00:00:00.000000' -%}
    {%- if run_started_at is defined -%}
        {%- set started = run_started_at.strftime('%Y-%m-%d %H:%M:%S.%f') -%}
    {%- endif -%}
    cast('{{ started }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{#- Filter of an incremental run's reads: rows whose timestamp `column` (a load time or a run
    stamp) is later than `since`, a timestamp as text; every row when `since` is none (a first
    or full build). Event summaries read events loaded after their newest load; the identity
    models kept by record read inputs staged after their newest stamp. -#}
{% macro newer_than(column, since) -%}
    {%- if since is none -%}
        true
    {%- else -%}
        {{ column }} > cast('{{ since }}' as {{ dbt.type_timestamp() }})
    {%- endif -%}
{%- endmacro %}


{#- A record's email and phone as delivered (`email_raw`, `phone_raw`: null when blank) and
    normalised (`email_normalised`: lowercased, IDNA; `phone_normalised`: E.164 or null when it
    cannot be one). `email`, `phone`: the raw columns, or none when the source has no such
    field. -#}
{% macro contact_point_columns(email=none, phone=none) -%}
    {%- set parts = [] -%}
    {%- if email -%}
        {%- do parts.append("case when trim(" ~ email ~ ") <> '' then " ~ email ~ " end as email_raw") -%}
        {%- do parts.append(clientbase.normalise_email(email) ~ " as email_normalised") -%}
    {%- endif -%}
    {%- if phone -%}
        {%- do parts.append("case when trim(" ~ phone ~ ") <> '' then " ~ phone ~ " end as phone_raw") -%}
        {%- do parts.append(clientbase.normalise_phone(phone) ~ " as phone_normalised") -%}
    {%- endif -%}
    {{ parts | join(",\n        ") }}
{%- endmacro %}


{#- Whether a delivered address is valid: null when none was delivered, false when it does not
    normalise (phone) or fails the syntax check (email). Reads the columns of
    contact_point_columns(). -#}
{% macro contact_point_validity(email=true, phone=true) -%}
    {%- set parts = [] -%}
    {%- if email -%}
        {%- do parts.append(
            "case when email_raw is not null then coalesce("
            ~ clientbase.is_valid_email('email_normalised') ~ ", false) end as is_email_valid"
        ) -%}
    {%- endif -%}
    {%- if phone -%}
        {%- do parts.append(
            "case when phone_raw is not null then phone_normalised is not null end as is_phone_valid"
        ) -%}
    {%- endif -%}
    {{ parts | join(",\n        ") }}
{%- endmacro %}


{#- The published address columns: the raw form, the normalised one when it is valid, and the
    flag. Reads the columns of contact_point_columns() and contact_point_validity(). -#}
{% macro contact_point_outputs(email=true, phone=true) -%}
    {%- set parts = [] -%}
    {%- if email -%}
        {%- do parts.append("email_raw") -%}
        {%- do parts.append("case when is_email_valid then email_normalised end as email") -%}
        {%- do parts.append("is_email_valid") -%}
    {%- endif -%}
    {%- if phone -%}
        {%- do parts.append("phone_raw") -%}
        {%- do parts.append("phone_normalised as phone") -%}
        {%- do parts.append("is_phone_valid") -%}
    {%- endif -%}
    {{ parts | join(",\n        ") }}
{%- endmacro %}


{#- The newest run stamp (`_staged_at`, as text) an incremental model holds: a run recomputes
    what its inputs staged after it. None when everything is read (first build, --full-refresh,
    a table rebuilt on every run, an empty table); var `fixed_var` replaces the lookup (unit
    tests). A table built before the model held stamps stops the run with the command that
    rebuilds it. -#}
{% macro held_staged_since(fixed_var) -%}
    {%- set fixed = var(fixed_var, none) -%}
    {%- if not is_incremental() -%}
        {{ return(none) }}
    {%- elif fixed is not none or not execute -%}
        {{ return(fixed) }}
    {%- else -%}
        {%- set held = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
        {%- if '_staged_at' not in held -%}
            {{ exceptions.raise_compiler_error(
                this ~ ' has no _staged_at column: it was built by a version that did not stamp'
                ~ ' its rows. Rebuild it once: dbt build --full-refresh --select '
                ~ this.identifier
            ) }}
        {%- endif -%}
        {{ return(run_query(
            'select cast(max(_staged_at) as ' ~ dbt.type_string() ~ ') from ' ~ this
        ).columns[0].values()[0]) }}
    {%- endif -%}
{%- endmacro %}
