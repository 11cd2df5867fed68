-- Monthly acquisition cohorts (month of the first purchase) by months since acquisition:
-- customers active, retention share, revenue and cumulative revenue per acquired customer.
-- Rows for acquisition_channel = 'all' hold the whole cohort; the other rows split it by the
-- sales channel of the customer's first purchase (web, app, store), so filter on one or the
-- other, never sum both. The grid is complete (inactive months are rows with zeros) up to the
-- month of the day before the as-of date (the last day the build sees; possibly partial).
-- Orders dated before a customer's first purchase (a cancelled order, an unmatched return)
-- are counted in month 0, so the cells add up to fct_orders' revenue.

with

orders as (
    select * from {{ ref('fct_orders') }}
    where
        customer_id is not null
        and ordered_date < {{ as_of_date() }}
),

first_purchases as (
    select
        customer_id,
        ordered_date as first_purchase_date,
        sales_channel as acquisition_channel,
        row_number() over (
            partition by customer_id order by ordered_at asc, order_id asc
        ) as purchase_number
    from orders
    where is_purchase
),

cohort_members as (
    select
        customer_id,
        acquisition_channel,
        cast({{ dbt.date_trunc('month', 'first_purchase_date') }} as date) as cohort_month
    from first_purchases
    where purchase_number = 1
),

activity as (
    select
        cohort_members.customer_id,
        cohort_members.cohort_month,
        cohort_members.acquisition_channel,
        case
            when orders.ordered_date < cohort_members.cohort_month then 0
            else {{ dbt.datediff('cohort_members.cohort_month', 'orders.ordered_date', 'month') }}
        end as months_since_acquisition,
        orders.is_purchase,
        orders.net_amount
    from cohort_members
    inner join orders
        on cohort_members.customer_id = orders.customer_id
),

activity_per_customer_month as (
    select
        customer_id,
        cohort_month,
        acquisition_channel,
        months_since_acquisition,
        max(case when is_purchase then 1 else 0 end) as is_active,
        sum(net_amount) as revenue
    from activity
    group by customer_id, cohort_month, acquisition_channel, months_since_acquisition
),

-- every cohort/channel split: 'all' plus each acquisition channel
member_splits as (
    select
        customer_id,
        cohort_month,
        'all' as acquisition_channel
    from cohort_members
    union all
    select
        customer_id,
        cohort_month,
        acquisition_channel
    from cohort_members
),

activity_splits as (
    select
        customer_id,
        cohort_month,
        'all' as acquisition_channel,
        months_since_acquisition,
        is_active,
        revenue
    from activity_per_customer_month
    union all
    select
        customer_id,
        cohort_month,
        acquisition_channel,
        months_since_acquisition,
        is_active,
        revenue
    from activity_per_customer_month
),

cohort_sizes as (
    select
        cohort_month,
        acquisition_channel,
        count(*) as cohort_customers
    from member_splits
    group by cohort_month, acquisition_channel
),

month_offsets as (
    {{ dbt.generate_series(1200) }}
),

grid as (
    select
        cohort_sizes.cohort_month,
        cohort_sizes.acquisition_channel,
        cohort_sizes.cohort_customers,
        cast(month_offsets.generated_number as integer) - 1 as months_since_acquisition
    from cohort_sizes
    cross join month_offsets
    where
        cast(month_offsets.generated_number as integer) - 1
        <= {{ dbt.datediff('cohort_sizes.cohort_month',
                          dbt.dateadd('day', -1, as_of_date()), 'month') }}
),

cell_activity as (
    select
        cohort_month,
        acquisition_channel,
        months_since_acquisition,
        sum(is_active) as active_customers,
        sum(revenue) as revenue
    from activity_splits
    group by cohort_month, acquisition_channel, months_since_acquisition
),

cells as (
    select
        grid.cohort_month,
        grid.acquisition_channel,
        grid.months_since_acquisition,
        grid.cohort_customers,
        coalesce(cell_activity.active_customers, 0) as active_customers,
        coalesce(cell_activity.revenue, 0) as revenue
    from grid
    left join cell_activity
        on
            grid.cohort_month = cell_activity.cohort_month
            and grid.acquisition_channel = cell_activity.acquisition_channel
            and grid.months_since_acquisition = cell_activity.months_since_acquisition
),

final as (
    select
        {{ dbt.concat(['cast(cohort_month as ' ~ dbt.type_string() ~ ')', "'|'",
                       'acquisition_channel', "'|'",
                       'cast(months_since_acquisition as ' ~ dbt.type_string() ~ ')']) }}
            as cohort_cell_id,
        cohort_month,
        acquisition_channel,
        months_since_acquisition,
        cast({{ dbt.dateadd('month', 'months_since_acquisition', 'cohort_month') }} as date)
            as activity_month,
        cast(cohort_customers as integer) as cohort_customers,
        cast(active_customers as integer) as active_customers,
        cast(1.0 * active_customers / cohort_customers as double) as retention_share,
        cast(revenue as decimal(18, 2)) as revenue,
        cast(
            sum(revenue) over (
                partition by cohort_month, acquisition_channel
                order by months_since_acquisition
                rows between unbounded preceding and current row
            ) as decimal(18, 2)
        ) as cumulative_revenue,
        -- exact and equal on DuckDB and Spark (DuckDB alone would divide in double)
        cast(
            {{ clientbase.decimal_divide(
                'sum(revenue) over (partition by cohort_month, acquisition_channel'
                ~ ' order by months_since_acquisition'
                ~ ' rows between unbounded preceding and current row)',
                'cohort_customers'
            ) }} as decimal(18, 2)
        ) as cumulative_revenue_per_customer
    from cells
)

select * from final
