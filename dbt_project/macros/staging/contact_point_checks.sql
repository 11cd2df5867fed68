{#-
    Incremental staging of the contact-point checks (stg_hygiene__contact_point_checks).

    The asset raw/reference/contact_point_checks (orchestration/assets/contact_points.py) keeps
    the stamp (`_loaded_at`) of every value it checked before and stamps only tonight's new
    ones; a full read of the raw zone (files re-extracted or scrubbed, other library versions)
    stamps every row anew, because values may have left. So the model either merges the
    spellings stamped after its newest `checked_at` into the rows of their contact points, or,
    when every row of the file is newer than the table (or the table is empty), rebuilds: the
    pre-hook empties the table and the body reads the whole file.
-#}

{#- True when tonight's run merges new spellings into the table; false on a full build, at
    parse time and when the checks file was rewritten whole. The body and the pre-hook both
    call it, so they cannot disagree on whether the table is emptied. Var
    `contact_point_checks_merging` decides instead of the tables (unit tests). -#}
{% macro contact_point_checks_merging() -%}
    {%- set decided = var('contact_point_checks_merging', none) -%}
    {%- if decided is not none -%}
        {#- unit tests, whose source and table are fixtures -#}
        {{ return(decided and is_incremental()) }}
    {%- elif is_incremental() and execute -%}
        {%- set held = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
        {%- if 'value_raw' not in held -%}
            {{ exceptions.raise_compiler_error(
                this ~ ' has no value_raw column: it was built by a version that rebuilt it'
                ~ ' every night instead of merging new spellings. Rebuild it once: dbt build'
                ~ ' --full-refresh --select ' ~ this.identifier
            ) }}
        {%- endif -%}
        {%- set rewritten_whole = run_query(
            'select coalesce((select min(cast(_loaded_at as ' ~ dbt.type_timestamp() ~ ')) from '
            ~ source('hygiene', 'contact_point_checks') ~ ') > (select max(checked_at) from '
            ~ this ~ '), true)'
        ).columns[0].values()[0] -%}
        {{ return(not rewritten_whole) }}
    {%- else -%}
        {{ return(false) }}
    {%- endif -%}
{%- endmacro %}


{% macro contact_point_checks_pre_hook() -%}
    {%- if is_incremental() and not clientbase.contact_point_checks_merging() %}
        delete from {{ this }}
    {%- endif -%}
{%- endmacro %}


{#- Tonight's rows of the contact points in `batch` (one row per contact point over tonight's
    spellings, the model's columns) merged with `kept`, the table's rows of the same contact
    points: the flags are any-of, the counts add up, and the verdict is that of whichever first
    spelling ranks first (valid before invalid, then by raw value), as a rebuild over all the
    spellings would rank them. Tonight's spellings are all newer, so their stamp is the row's. -#}
{% macro contact_point_checks_merged(batch, kept) -%}
    {%- set verdict_columns = [
        'value_raw', 'library_normalised', 'reason', 'phone_country_code', 'phone_time_zones',
        'phone_time_zone_count', 'checked_with',
    ] -%}
    {%- set kept_first -%}
        (
            {{ kept }}.contact_point_key is not null
            and (
                ({{ kept }}.is_valid and not {{ batch }}.is_valid)
                or (
                    {{ kept }}.is_valid = {{ batch }}.is_valid
                    and {{ kept }}.value_raw < {{ batch }}.value_raw
                )
            )
        )
    {%- endset %}
    select
        {{ batch }}.contact_point_key,
        {{ batch }}.contact_point_type,
        {{ batch }}.contact_point_value,
        {%- for column in verdict_columns %}
            case when {{ kept_first }} then {{ kept }}.{{ column }} else {{ batch }}.{{ column }} end
                as {{ column }},
        {%- endfor %}
        {{ batch }}.is_valid or coalesce({{ kept }}.is_valid, false) as is_valid,
        {{ batch }}.is_role or coalesce({{ kept }}.is_role, false) as is_role,
        {{ batch }}.is_disposable or coalesce({{ kept }}.is_disposable, false) as is_disposable,
        {{ batch }}.spelling_count + coalesce({{ kept }}.spelling_count, 0) as spelling_count,
        {{ batch }}.checked_at
    from {{ batch }}
    left join {{ kept }} on {{ batch }}.contact_point_key = {{ kept }}.contact_point_key
{%- endmacro %}
