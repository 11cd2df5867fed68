{{ config(materialized='view') }}

-- RFM state of every purchasing customer at the build's as-of date (customer_rfm) and at the
-- first day of every month since the first purchase (customer_rfm_monthly,
-- rfm_segment_transitions), with the scoring rules of macros/sales/rfm_snapshots_scored.sql.
-- A view for analysis and for the unit tests that pin those rules: the two marts compute their
-- own snapshots with the same macro, so no table of every snapshot is written and read back.

with

{{ clientbase.rfm_snapshots_scored_ctes(['as_of', 'month_start']) }},

final as (
    select * from rfm_snapshots_scored
)

select * from final
