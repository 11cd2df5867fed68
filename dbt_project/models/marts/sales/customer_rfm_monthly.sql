{{ clientbase.sync_config('customer_snapshot_id') }}

-- Synchronised, not rewritten (macros/cross_db/incremental_sync.sql): every row is computed
-- as before and only the rows that differ from the stored ones are written, as
-- closed months rarely change (a merge or a late return reaches back).

-- Monthly snapshots of RFM segment membership: for every complete month since the first
-- purchase, each customer's scores and segment as they stood at the end of that month. The
-- scoring rules live in macros/sales/rfm_snapshots_scored.sql, shared with customer_rfm; this
-- model scores the month-start snapshots only.

with

{{ clientbase.rfm_snapshots_scored_ctes(['month_start']) }},

snapshots as (
    select * from rfm_snapshots_scored
),

final as (
    select
        customer_snapshot_id,
        cast({{ dbt.dateadd('month', -1, 'snapshot_date') }} as date) as snapshot_month,
        snapshot_date,
        customer_id,
        cast(recency_days as integer) as recency_days,
        frequency,
        monetary,
        recency_score,
        frequency_score,
        monetary_score,
        rfm_cell,
        segment,
        is_sleeping
    from snapshots
    where snapshot_kind = 'month_start'
)

select * from final
