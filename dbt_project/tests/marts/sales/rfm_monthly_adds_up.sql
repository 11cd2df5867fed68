-- Every month-end snapshot holds exactly the customers who had bought before its snapshot
-- date, and the month's segment transitions add up to that month's customers.

with

orders as (
    select * from {{ ref('fct_orders') }}
    where customer_id is not null and is_purchase
),

monthly as (
    select * from {{ ref('customer_rfm_monthly') }}
),

transitions as (
    select * from {{ ref('rfm_segment_transitions') }}
),

snapshots as (
    select
        snapshot_month,
        snapshot_date,
        count(*) as customers
    from monthly
    group by snapshot_month, snapshot_date
),

-- a customer has bought before a date when their first purchase is before it: count the
-- customers by first purchase day once, instead of every order before every snapshot
-- (size L: 37 snapshots x 4.6M orders, grouped distinct)
first_purchase_days as (
    select
        first_purchase_date,
        count(*) as customers
    from (
        select
            customer_id,
            min(ordered_date) as first_purchase_date
        from orders
        group by customer_id
    ) as first_purchases
    group by first_purchase_date
),

expected as (
    select
        snapshots.snapshot_month,
        sum(first_purchase_days.customers) as customers
    from snapshots
    inner join first_purchase_days
        on snapshots.snapshot_date > first_purchase_days.first_purchase_date
    group by snapshots.snapshot_month
),

transition_totals as (
    select
        snapshot_month,
        sum(customers) as customers
    from transitions
    group by snapshot_month
)

select
    snapshots.snapshot_month,
    snapshots.customers as snapshot_customers,
    expected.customers as expected_customers,
    transition_totals.customers as transition_customers
from snapshots
left join expected
    on snapshots.snapshot_month = expected.snapshot_month
left join transition_totals
    on snapshots.snapshot_month = transition_totals.snapshot_month
where
    snapshots.customers != coalesce(expected.customers, -1)
    or snapshots.customers != coalesce(transition_totals.customers, -1)
