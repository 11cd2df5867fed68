{#-
    int_customer_consents_latest, kept by customer.

    One row per customer and channel (size L: ~7M rows). A customer's rows are a function of
    its consent events (int_consent_events_unioned, already cut at the as-of date) and of its
    being a customer at all, so instead of recomputing every customer each night the model is
    kept by key like the identity dimensions (macros/identity/dimensions_incremental.sql): a
    pre-hook deletes the rows of the customers whose inputs changed since the newest stamp the
    table holds (`_staged_at`), and the body computes every customer without rows.

    What changed, for a customer (all four channels are deleted together):
    - a consent event of it was written since: int_consent_events_unioned is synchronised and
      a row it writes (new, or changed in kind, time or customer) carries the run's stamp,
      while an unchanged row keeps its own (incremental_sync.sql leaves `_staged_at` out of
      the comparison);
    - it lost an event on a channel: its event count there differs from the one the row holds
      (`consent_event_count`). An event that is gone leaves no stamped row (its record moved
      to another customer, the as-of date was set back, an erasure); a customer that gains one
      is found by the gained row's stamp, so a loss shows either in a count or beside a stamp;
    - it is gone (no record resolves to it any more).

    The mart customer_consent_history (the versions of each customer's consent) is kept by
    customer the same way, and recomputes the customers int_customer_consents_latest recomputed.
-#}

{#- The held rows of int_customer_consents_latest to recompute (alias `held`): every channel of
    a customer with an event written since `since`, with another event count on a channel
    than its row holds (it lost an event), or that is gone. -#}
{% macro consents_stale_rows(since) -%}
    {%- set events = ref('int_consent_events_unioned') -%}
    held.customer_id in (
        select changed.customer_id
        from {{ events }} as changed
        where {{ clientbase.newer_than('changed._staged_at', since) }}
        union all
        -- it lost an event on a channel
        select counted.customer_id
        from {{ this }} as counted
        left join (
            select
                customer_id,
                channel,
                count(*) as event_count
            from {{ events }}
            group by customer_id, channel
        ) as current_events
            on
                counted.customer_id = current_events.customer_id
                and counted.channel = current_events.channel
        where counted.consent_event_count <> coalesce(current_events.event_count, 0)
    )
    -- gone
    or not exists (
        select 1
        from {{ ref('int_source_records_resolved') }} as records
        where records.customer_id = held.customer_id
    )
{%- endmacro %}


{#- The held rows of customer_consent_history to recompute (alias `held`): the history of a
    customer int_customer_consents_latest recomputed since `since` (its events changed: see
    above), or no longer holds (gone). A customer without events has no history rows, and
    one with events always has some, so the body's "customers without rows" are exactly the
    deleted and the new ones. -#}
{% macro consent_history_stale_rows(since) -%}
    {%- set latest = ref('int_customer_consents_latest') -%}
    held.customer_id in (
        select recomputed.customer_id
        from {{ latest }} as recomputed
        where {{ clientbase.newer_than('recomputed._staged_at', since) }}
    )
    or not exists (
        select 1
        from {{ latest }} as customers
        where customers.customer_id = held.customer_id
    )
{%- endmacro %}
