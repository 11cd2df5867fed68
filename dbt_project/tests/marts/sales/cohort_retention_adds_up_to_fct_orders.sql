-- The cohorts hold every customer who made a purchase before the as-of date exactly once
-- (month-0 cohort sizes), their cells' revenue adds up to those customers' net revenue in
-- fct_orders, and each channel split adds up to its 'all' rows. Returns the failing checks.

with

orders as (
    select * from {{ ref('fct_orders') }}
    where
        customer_id is not null
        and ordered_date < {{ as_of_date() }}
),

cohorts as (
    select * from {{ ref('cohort_retention') }}
),

purchasers as (
    select distinct customer_id
    from orders
    where is_purchase
),

-- purchasers are distinct customers: counted as rows, and their revenue summed over their
-- orders without a distinct count over the joined orders
purchaser_revenue as (
    select coalesce(sum(orders.net_amount), 0) as revenue
    from orders
    inner join purchasers
        on orders.customer_id = purchasers.customer_id
),

purchaser_count as (
    select count(*) as customers
    from purchasers
),

expected as (
    select
        purchaser_count.customers,
        purchaser_revenue.revenue
    from purchaser_count
    cross join purchaser_revenue
),

per_split as (
    select
        case when acquisition_channel = 'all' then 'all' else 'channels' end as split,
        sum(case when months_since_acquisition = 0 then cohort_customers else 0 end)
            as customers,
        coalesce(sum(revenue), 0) as revenue,
        sum(active_customers) as active_customers
    from cohorts
    group by case when acquisition_channel = 'all' then 'all' else 'channels' end
),

checks as (
    select
        'all cohorts vs fct_orders' as check_name,
        expected.customers as expected_customers,
        coalesce(per_split.customers, 0) as actual_customers,
        expected.revenue as expected_revenue,
        coalesce(per_split.revenue, 0) as actual_revenue
    from expected
    left join per_split
        on per_split.split = 'all'
    union all
    select
        'channel split vs all' as check_name,
        all_rows.customers as expected_customers,
        channels.customers as actual_customers,
        all_rows.revenue as expected_revenue,
        channels.revenue as actual_revenue
    from per_split as all_rows
    inner join per_split as channels
        on all_rows.split = 'all' and channels.split = 'channels'
    where all_rows.active_customers != channels.active_customers
        or all_rows.customers != channels.customers
        or abs(all_rows.revenue - channels.revenue) > 0.01
)

select *
from checks
where
    expected_customers != actual_customers
    or abs(expected_revenue - actual_revenue) > 0.01
    or check_name = 'channel split vs all'
