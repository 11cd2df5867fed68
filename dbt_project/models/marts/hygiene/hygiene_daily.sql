-- Hygiene rates per build date, so the trend of the base (cleaner or dirtier) stays visible.
-- Incremental: each build appends (or, rebuilt the same day, replaces) the row of its as-of
-- date; earlier rows are never recomputed. The rate_below tests in hygiene_daily.yml check the
-- row of the current build against vars.hygiene_thresholds.

{{ config(
    materialized='incremental',
    unique_key='build_date',
    incremental_strategy=clientbase.ledger_strategy(),
    partition_by=clientbase.ledger_partition_by('build_date'),
    on_schema_change='fail'
) }}

with

hygiene as (
    select * from {{ ref('contact_hygiene') }}
),

counts as (
    select
        {{ clientbase.as_of_date() }} as build_date,
        count(*) as customer_count,
        sum(case when profile_time_zone is not null then 1 else 0 end) as profiled_count,
        sum(case when is_time_zone_stale then 1 else 0 end) as stale_time_zone_count,
        sum(case when is_inactive then 1 else 0 end) as inactive_count,
        sum(case when is_never_active then 1 else 0 end) as never_active_count,
        sum(case when email is not null then 1 else 0 end) as with_email_count,
        sum(case when is_email_undeliverable then 1 else 0 end) as undeliverable_email_count,
        sum(case when is_email_hard_bounced then 1 else 0 end) as hard_bounce_email_count,
        sum(case when is_duplicate then 1 else 0 end) as duplicate_count,
        sum(case when is_sendable_email then 1 else 0 end) as sendable_email_count,
        sum(case when is_sendable_sms then 1 else 0 end) as sendable_sms_count,
        sum(case when is_sendable_whatsapp then 1 else 0 end) as sendable_whatsapp_count,
        sum(case when is_sendable_telegram then 1 else 0 end) as sendable_telegram_count,
        sum(
            case
                when not (is_sendable_email or is_sendable_sms or is_sendable_whatsapp or is_sendable_telegram)
                    then 1
                else 0
            end
        ) as not_sendable_count
    from hygiene
),

final as (
    select
        build_date,
        cast({{ dbt.current_timestamp() }} as {{ dbt.type_timestamp() }}) as built_at,
        cast(customer_count as {{ dbt.type_bigint() }}) as customer_count,
        cast(stale_time_zone_count as {{ dbt.type_bigint() }}) as stale_time_zone_count,
        cast(inactive_count as {{ dbt.type_bigint() }}) as inactive_count,
        cast(never_active_count as {{ dbt.type_bigint() }}) as never_active_count,
        cast(undeliverable_email_count as {{ dbt.type_bigint() }}) as undeliverable_email_count,
        cast(hard_bounce_email_count as {{ dbt.type_bigint() }}) as hard_bounce_email_count,
        cast(duplicate_count as {{ dbt.type_bigint() }}) as duplicate_count,
        cast(sendable_email_count as {{ dbt.type_bigint() }}) as sendable_email_count,
        cast(sendable_sms_count as {{ dbt.type_bigint() }}) as sendable_sms_count,
        cast(sendable_whatsapp_count as {{ dbt.type_bigint() }}) as sendable_whatsapp_count,
        cast(sendable_telegram_count as {{ dbt.type_bigint() }}) as sendable_telegram_count,
        -- shares of the customers a rule can apply to (zero when there are none)
        {{ clientbase.hygiene_share('stale_time_zone_count', 'profiled_count') }} as stale_time_zone_share,
        {{ clientbase.hygiene_share('inactive_count', 'customer_count') }} as inactive_share,
        {{ clientbase.hygiene_share('never_active_count', 'customer_count') }} as never_active_share,
        {{ clientbase.hygiene_share('undeliverable_email_count', 'with_email_count') }} as undeliverable_email_share,
        {{ clientbase.hygiene_share('hard_bounce_email_count', 'with_email_count') }} as hard_bounce_email_share,
        {{ clientbase.hygiene_share('duplicate_count', 'customer_count') }} as duplicate_share,
        {{ clientbase.hygiene_share('not_sendable_count', 'customer_count') }} as not_sendable_share
    from counts
)

select * from final
