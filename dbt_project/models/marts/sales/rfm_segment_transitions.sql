-- Movement between RFM segments from one month's end to the next: how many customers went
-- from segment X to segment Y. Customers who bought for the first time that month come from
-- `none`; customers who stayed put are counted too (X -> X), so every month's rows add up to
-- that month's customers.

with

monthly as (
    select * from {{ ref('customer_rfm_monthly') }}
),

paired as (
    select
        current_month.snapshot_month,
        current_month.customer_id,
        coalesce(previous_month.segment, 'none') as from_segment,
        current_month.segment as to_segment
    from monthly as current_month
    left join monthly as previous_month
        on
            current_month.customer_id = previous_month.customer_id
            and previous_month.snapshot_month
            = cast({{ dbt.dateadd('month', -1, 'current_month.snapshot_month') }} as date)
),

grouped as (
    select
        snapshot_month,
        from_segment,
        to_segment,
        count(*) as customers
    from paired
    group by snapshot_month, from_segment, to_segment
),

final as (
    select
        {{ dbt.concat(['cast(snapshot_month as ' ~ dbt.type_string() ~ ')', "'|'",
                       'from_segment', "'|'", 'to_segment']) }} as transition_id,
        snapshot_month,
        from_segment,
        to_segment,
        from_segment = to_segment as is_unchanged,
        cast(customers as integer) as customers,
        cast(
            1.0 * customers / sum(customers) over (partition by snapshot_month, from_segment)
            as double
        ) as share_of_from_segment
    from grouped
)

select * from final
