-- customer_rfm has exactly the customers who made a purchase before the as-of date, and their
-- monetary values add up to those customers' net revenue in fct_orders; every RFM cell and
-- segment is populated from that same base. Returns a row when the totals disagree.

with

orders as (
    select * from {{ ref('fct_orders') }}
    where
        customer_id is not null
        and ordered_date < {{ as_of_date() }}
),

purchasers as (
    select distinct customer_id
    from orders
    where is_purchase
),

expected as (
    select
        count(distinct purchasers.customer_id) as customers,
        coalesce(sum(orders.net_amount), 0) as revenue
    from purchasers
    inner join orders
        on purchasers.customer_id = orders.customer_id
),

cells as (
    -- add up cell by cell, as a report of the 27-cell grid would
    select
        rfm_cell,
        segment,
        count(*) as customers,
        sum(monetary) as revenue
    from {{ ref('customer_rfm') }}
    group by rfm_cell, segment
),

actual as (
    select
        coalesce(sum(customers), 0) as customers,
        coalesce(sum(revenue), 0) as revenue,
        sum(case when segment is null then customers else 0 end) as customers_without_segment
    from cells
)

select
    expected.customers as expected_customers,
    actual.customers as actual_customers,
    expected.revenue as expected_revenue,
    actual.revenue as actual_revenue,
    actual.customers_without_segment
from expected
cross join actual
where
    expected.customers != actual.customers
    or abs(expected.revenue - actual.revenue) > 0.01
    or actual.customers_without_segment > 0
