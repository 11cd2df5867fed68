-- RFM of every customer who bought before the as-of date (var as_of_date, default today):
-- recency, frequency, monetary, quintile scores, the 27-cell A/B/C cell, the named segment and
-- the sleeping flag. The scoring rules live in macros/sales/rfm_snapshots_scored.sql, shared
-- with customer_rfm_monthly; this model scores the as-of snapshot only.

with

{{ clientbase.rfm_snapshots_scored_ctes(['as_of']) }},

snapshots as (
    select * from rfm_snapshots_scored
),

final as (
    select
        customer_id,
        snapshot_date as as_of_date,
        first_purchase_date,
        last_purchase_date,
        cast(recency_days as integer) as recency_days,
        frequency,
        purchase_orders,
        monetary,
        recency_score,
        frequency_score,
        monetary_score,
        rfm_score,
        rfm_cell,
        segment,
        segment_name,
        average_days_between_purchases,
        repurchase_cycle_days,
        is_sleeping
    from snapshots
    where snapshot_kind = 'as_of'
)

select * from final
