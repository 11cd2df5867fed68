{#-
    RFM state of every purchasing customer at a set of snapshot dates, as CTEs to splice into a
    model's WITH list: `snapshot_kinds` is a list of 'as_of' (the build's as-of date) and
    'month_start' (the first day of every month since the first purchase, up to the as-of date).
    The last CTE, `rfm_snapshots_scored`, has one row per (customer, snapshot). One place for the
    scoring rules, so the current (customer_rfm) and the historical (customer_rfm_monthly) views
    can never disagree; each mart computes only its own snapshots instead of both reading one
    table of all of them (size L: 15M rows written and read back every night, for 0.6M as-of
    rows). int_rfm_snapshots_scored is the same macro over both kinds, as a view, where the unit
    tests pin the rules. A snapshot at date D sees the orders dated before D.

    Scores are quintiles (1-5, 5 best) that keep ties together: score = 1 + floor(5 * (rank - 1)
    / customers). Plain ntile() would split equal customers (say the many one-time buyers)
    across quintiles by an arbitrary tie-breaker; here two customers with the same value always
    get the same score. The A/B/C letters of the 27-cell scheme are the same rule with 3 buckets.
    Every rank is within one snapshot date, so scoring the kinds apart gives the rows scoring
    them together gives.
-#}
{% macro rfm_snapshots_scored_ctes(snapshot_kinds) -%}

rfm_orders as (
    select * from {{ ref('fct_orders') }}
),

rfm_segments as (
    select * from {{ ref('rfm_segments') }}
),

rfm_customer_days as (
    -- purchase occasions are days: several orders on one day are one basket (as in the
    -- BG/NBD literature); money counts every order, including unmatched returns
    select
        customer_id,
        ordered_date,
        max(case when is_purchase then 1 else 0 end) as is_purchase_day,
        sum(case when is_purchase then 1 else 0 end) as purchase_orders,
        sum(net_amount) as net_amount
    from rfm_orders
    where customer_id is not null
    group by customer_id, ordered_date
),

rfm_first_month as (
    select
        {{ dbt.date_trunc('month', 'min(ordered_date)') }} as first_purchase_month
    from rfm_customer_days
    where is_purchase_day = 1
),

rfm_month_numbers as (
    -- 100 years of months: plenty, and plain SQL on every engine
    {{ dbt.generate_series(1200) }}
),

rfm_snapshot_dates as (
    {%- set snapshots = [] %}
    {%- if 'as_of' in snapshot_kinds %}
        {%- do snapshots.append("select " ~ as_of_date() ~ " as snapshot_date, 'as_of' as snapshot_kind") %}
    {%- endif %}
    {#- var rfm_history: false computes no month-start snapshot (customer_rfm_monthly and
        rfm_segment_transitions are then empty): for a quick look at a huge history, and the
        benchmark's like-for-like comparison with a pandas notebook that computes one snapshot -#}
    {%- if 'month_start' in snapshot_kinds and var('rfm_history', true) %}
        {%- set month_start = dbt.dateadd(
            'month', 'cast(rfm_month_numbers.generated_number as integer)',
            'rfm_first_month.first_purchase_month') %}
        {%- do snapshots.append(
            "select cast(" ~ month_start ~ " as date) as snapshot_date, 'month_start' as snapshot_kind"
            ~ " from rfm_month_numbers cross join rfm_first_month"
            ~ " where cast(" ~ month_start ~ " as date) <= " ~ as_of_date()) %}
    {%- endif %}
    {%- if snapshots %}
        {{ snapshots | join('\n        union all\n        ') }}
    {%- else %}
        select {{ as_of_date() }} as snapshot_date, 'none' as snapshot_kind where 1 = 0
    {%- endif %}
),

rfm_customer_running as (
    -- running totals per customer, one row per purchase or return day: the state of a customer
    -- at snapshot D is the row of their last day before D. Joining each snapshot to that one
    -- row (the day's validity interval) replaces grouping every snapshot's whole order history
    -- (on L: 86M joined rows grouped down to 16M), and gives the same numbers.
    select
        customer_id,
        ordered_date,
        lead(ordered_date) over (
            partition by customer_id order by ordered_date
        ) as next_ordered_date,
        min(case when is_purchase_day = 1 then ordered_date end) over running
            as first_purchase_date,
        max(case when is_purchase_day = 1 then ordered_date end) over running
            as last_purchase_date,
        sum(is_purchase_day) over running as purchase_days,
        sum(purchase_orders) over running as purchase_orders,
        sum(net_amount) over running as monetary
    from rfm_customer_days
    -- (lead() takes no frame on Spark, hence the separate window above)
    window running as (
        partition by customer_id order by ordered_date
        rows between unbounded preceding and current row
    )
),

rfm_per_customer as (
    select
        rfm_snapshot_dates.snapshot_date,
        rfm_snapshot_dates.snapshot_kind,
        rfm_customer_running.customer_id,
        rfm_customer_running.first_purchase_date,
        rfm_customer_running.last_purchase_date,
        rfm_customer_running.purchase_days,
        rfm_customer_running.purchase_orders,
        rfm_customer_running.monetary
    from rfm_snapshot_dates
    inner join rfm_customer_running
        on
            rfm_snapshot_dates.snapshot_date > rfm_customer_running.ordered_date
            -- the last day before the snapshot: the next one (if any) is on or after it
            and rfm_snapshot_dates.snapshot_date
            <= coalesce(rfm_customer_running.next_ordered_date, cast('9999-12-31' as date))
),

rfm_purchasers as (
    select
        *,
        {{ dbt.datediff('last_purchase_date', 'snapshot_date', 'day') }} as recency_days,
        case
            when purchase_days > 1
                then
                    1.0 * {{ dbt.datediff('first_purchase_date', 'last_purchase_date', 'day') }}
                    / (purchase_days - 1)
        end as average_days_between_purchases
    from rfm_per_customer
    where purchase_days > 0
),

rfm_population_cycle as (
    -- one-time buyers have no cycle of their own: they get the repeat buyers' median
    select
        snapshot_date,
        {{ median('average_days_between_purchases') }} as median_days_between_purchases
    from rfm_purchasers
    where average_days_between_purchases is not null
    group by snapshot_date
),

rfm_snapshot_sizes as (
    select
        snapshot_date,
        count(*) as customers_in_snapshot
    from rfm_purchasers
    group by snapshot_date
),

-- rank() of recency and frequency within the snapshot, rank 1 = worst: longest ago, fewest
-- purchase days; counted over the snapshot's distinct values instead of sorting every customer
-- (size L: 14.7M rows; on L's warehouse the model went from 23 to 17 s, identical rows). Money
-- has nearly as many values as customers, so it keeps rank() (below): counting its values
-- would cost more than the sort.
rfm_recency_ranks as (
    {{ clientbase.rank_by_value_counts(
        'rfm_purchasers', 'snapshot_date', 'recency_days', 'desc', 'recency_rank') }}
),

rfm_frequency_ranks as (
    {{ clientbase.rank_by_value_counts(
        'rfm_purchasers', 'snapshot_date', 'purchase_days', 'asc', 'frequency_rank') }}
),

rfm_ranked as (
    select
        rfm_purchasers.*,
        rfm_snapshot_sizes.customers_in_snapshot,
        rfm_recency_ranks.recency_rank,
        rfm_frequency_ranks.frequency_rank,
        -- rank 1 = least money
        rank() over (
            partition by rfm_purchasers.snapshot_date order by rfm_purchasers.monetary asc
        ) as monetary_rank
    from rfm_purchasers
    inner join rfm_snapshot_sizes
        on rfm_purchasers.snapshot_date = rfm_snapshot_sizes.snapshot_date
    -- neither value is ever null (a purchaser has a last purchase), so equality joins find
    -- every row
    inner join rfm_recency_ranks
        on
            rfm_purchasers.snapshot_date = rfm_recency_ranks.snapshot_date
            and rfm_purchasers.recency_days = rfm_recency_ranks.recency_days
    inner join rfm_frequency_ranks
        on
            rfm_purchasers.snapshot_date = rfm_frequency_ranks.snapshot_date
            and rfm_purchasers.purchase_days = rfm_frequency_ranks.purchase_days
),

rfm_scored as (
    select
        rfm_ranked.*,
        {% for dimension in ['recency', 'frequency', 'monetary'] %}
            cast(
                1 + floor(5.0 * (rfm_ranked.{{ dimension }}_rank - 1) / rfm_ranked.customers_in_snapshot)
                as integer
            ) as {{ dimension }}_score,
            case
                when 3 * (rfm_ranked.{{ dimension }}_rank - 1) < rfm_ranked.customers_in_snapshot then 'A'
                when 3 * (rfm_ranked.{{ dimension }}_rank - 1) < 2 * rfm_ranked.customers_in_snapshot
                    then 'B'
                else 'C'
            end as {{ dimension }}_letter,
        {% endfor %}
        rfm_population_cycle.median_days_between_purchases
    from rfm_ranked
    left join rfm_population_cycle
        on rfm_ranked.snapshot_date = rfm_population_cycle.snapshot_date
),

-- the as-of snapshot can fall on a month start too: the kind in the key keeps them apart
rfm_snapshots_scored as (
    select
        {{ dbt.concat(['rfm_scored.customer_id', "'|'",
                       'cast(rfm_scored.snapshot_date as ' ~ dbt.type_string() ~ ')', "'|'",
                       'rfm_scored.snapshot_kind']) }}
            as customer_snapshot_id,
        rfm_scored.snapshot_date,
        rfm_scored.snapshot_kind,
        rfm_scored.customer_id,
        rfm_scored.first_purchase_date,
        rfm_scored.last_purchase_date,
        rfm_scored.recency_days,
        cast(rfm_scored.purchase_days as integer) as frequency,
        cast(rfm_scored.purchase_orders as integer) as purchase_orders,
        cast(rfm_scored.monetary as decimal(18, 2)) as monetary,
        rfm_scored.recency_score,
        rfm_scored.frequency_score,
        rfm_scored.monetary_score,
        {{ dbt.concat(['cast(rfm_scored.recency_score as ' ~ dbt.type_string() ~ ')',
                       'cast(rfm_scored.frequency_score as ' ~ dbt.type_string() ~ ')',
                       'cast(rfm_scored.monetary_score as ' ~ dbt.type_string() ~ ')']) }}
            as rfm_score,
        {{ dbt.concat(['rfm_scored.recency_letter', 'rfm_scored.frequency_letter',
                       'rfm_scored.monetary_letter']) }} as rfm_cell,
        rfm_segments.segment,
        rfm_segments.segment_name,
        cast(rfm_scored.average_days_between_purchases as double) as average_days_between_purchases,
        cast(
            coalesce(
                rfm_scored.average_days_between_purchases, rfm_scored.median_days_between_purchases
            ) as double
        ) as repurchase_cycle_days,
        -- sleeping: the customer missed their own repurchase cycle (one-time buyers: the
        -- population's median cycle; with no repeat buyers at all nobody can be judged late)
        coalesce(
            rfm_scored.recency_days
            > coalesce(
                rfm_scored.average_days_between_purchases, rfm_scored.median_days_between_purchases
            ),
            false
        ) as is_sleeping
    from rfm_scored
    left join rfm_segments
        on
            rfm_scored.recency_score = rfm_segments.recency_score
            and cast(floor((rfm_scored.frequency_score + rfm_scored.monetary_score + 1) / 2.0) as integer)
            = rfm_segments.frequency_monetary_score
)
{%- endmacro %}
