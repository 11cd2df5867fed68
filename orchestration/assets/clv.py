"""Customer lifetime value: BG/NBD + Gamma-Gamma (lifetimes) on fct_orders → marts.customer_clv."""

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd

from orchestration import locks
from orchestration.config import get_settings

FCT_ORDERS_KEY = dg.AssetKey(["marts", "fct_orders"])  # the translator keeps <schema>/<model>
CUSTOMER_CLV_KEY = dg.AssetKey(["marts", "customer_clv"])

# Time unit of the fit: weeks (days / 7), as in Fader, Hardie & Lee (2005); the likelihood is
# better conditioned on weeks than on days.
DAYS_PER_UNIT = 7.0
# Churn-risk segments by probability alive (documented in the column description).
CHURN_RISK_BANDS = ((0.3, "high"), (0.7, "medium"), (1.01, "low"))
# Histogram buckets of repeat purchases compared between model and data (the last is "N+").
FIT_CHECK_MAX_REPEATS = 7


@dataclass(frozen=True)
class ClvResult:
    customers: pd.DataFrame
    metadata: dict


# The per-customer summary BG/NBD and Gamma-Gamma take, in lifetimes' definitions
# (lifetimes.utils.summary_data_from_transaction_data with freq "D"): a purchase occasion is a
# day (the day's purchases summed), frequency = occasions - 1, recency = last - first occasion,
# T = observation end - first occasion (days), monetary_value = the mean of the repeat
# occasions' sums (the first excluded; 0 without repeats). Computed where the orders are, so the
# asset reads one row per customer instead of every purchase (size L: 615k rows instead of
# 4.2M, and no pandas grouping); tests/test_sales_clv.py holds it equal to lifetimes'.
PURCHASE_SUMMARY_SQL = """
with

purchases as (
    select customer_id, ordered_date, cast(net_amount as double) as net_amount
    from {orders}
    where is_purchase and customer_id is not null and ordered_date < $as_of
),

occasions as (
    select customer_id, ordered_date, sum(net_amount) as amount
    from purchases
    group by customer_id, ordered_date
),

numbered as (
    select
        *,
        min(ordered_date) over (partition by customer_id) as first_date
    from occasions
)

select
    customer_id,
    cast(count(*) - 1 as double) as frequency,
    cast(date_diff('day', min(ordered_date), max(ordered_date)) as double) as recency,
    cast(date_diff('day', min(ordered_date), $observation_end) as double) as "T",
    coalesce(avg(amount) filter (where ordered_date > first_date), 0.0) as monetary_value
from numbered
group by customer_id
order by customer_id
"""


def purchase_summary(
    con: duckdb.DuckDBPyConnection, as_of: date, orders: str = "marts.fct_orders"
) -> pd.DataFrame:
    """One row per customer with an attributed purchase before the as-of date (index
    customer_id): frequency, recency, T (days) and monetary_value, as lifetimes defines them.
    Revenue is fct_orders' net amount (returns netted, cancellations excluded)."""
    summary = con.execute(
        PURCHASE_SUMMARY_SQL.format(orders=orders),
        {"as_of": as_of, "observation_end": as_of - timedelta(days=1)},
    ).df()
    return summary.set_index("customer_id")


def warehouse_purchase_summary(warehouse: Path | str, as_of: date) -> pd.DataFrame:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return purchase_summary(con, as_of)
    finally:
        con.close()


def transaction_summary(transactions: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """The same summary from a frame of purchases (customer_id, ordered_date, net_amount) with
    lifetimes' own function: the reference purchase_summary is tested against, and the way in
    for data that is not in a warehouse."""
    from lifetimes.utils import summary_data_from_transaction_data

    transactions = transactions[pd.to_datetime(transactions["ordered_date"]) < pd.Timestamp(as_of)]
    if transactions.empty:
        return pd.DataFrame(
            columns=["frequency", "recency", "T", "monetary_value"],
            index=pd.Index([], name="customer_id"),
        )
    summary = summary_data_from_transaction_data(
        transactions.assign(ordered_date=pd.to_datetime(transactions["ordered_date"])),
        "customer_id",
        "ordered_date",
        monetary_value_col="net_amount",
        observation_period_end=pd.Timestamp(as_of - timedelta(days=1)),
        freq="D",
    )
    summary.index.name = "customer_id"
    return summary


def _repeat_histogram_fit(bgf, summary: pd.DataFrame) -> pd.DataFrame:
    """Observed vs BG/NBD-expected customers by number of repeat purchases (0..N-1, N+):
    each customer's probability of x repeats in their own observation time T, summed."""
    expected = np.zeros(FIT_CHECK_MAX_REPEATS + 1)
    for t, group_size in summary["T"].round(6).value_counts().items():
        probabilities = [
            float(bgf.probability_of_n_purchases_up_to_time(t, n))
            for n in range(FIT_CHECK_MAX_REPEATS)
        ]
        probabilities.append(max(0.0, 1.0 - sum(probabilities)))
        expected += group_size * np.array(probabilities)
    observed = (
        summary["frequency"]
        .clip(upper=FIT_CHECK_MAX_REPEATS)
        .value_counts()
        .reindex(range(FIT_CHECK_MAX_REPEATS + 1), fill_value=0)
        .to_numpy()
    )
    labels = [str(n) for n in range(FIT_CHECK_MAX_REPEATS)] + [f"{FIT_CHECK_MAX_REPEATS}+"]
    return pd.DataFrame({"repeats": labels, "observed": observed, "expected": expected})


def _purchase_patterns(summary: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """The distinct (frequency, recency, T) of the customers with their customer counts, and
    each customer's row in them (size L: 615k customers, 446k patterns)."""
    columns = ["frequency", "recency", "T"]
    # ngroup(sort=False) numbers patterns by first appearance, the order drop_duplicates keeps
    pattern_of = summary.groupby(columns, sort=False).ngroup().to_numpy()
    patterns = summary[columns].drop_duplicates().reset_index(drop=True)
    patterns["customers"] = np.bincount(pattern_of)
    return pattern_of, patterns


def churn_risk(probability_alive: pd.Series) -> pd.Series:
    bins = [-0.01] + [upper for upper, _ in CHURN_RISK_BANDS]
    labels = [name for _, name in CHURN_RISK_BANDS]
    return pd.cut(probability_alive, bins=bins, labels=labels, right=False).astype(str)


def compute_clv(
    summary: pd.DataFrame,
    as_of: date,
    *,
    penalizer: float = 0.001,
    discount_rate_monthly: float = 0.01,
) -> ClvResult:
    """Fit BG/NBD on purchase days and Gamma-Gamma on repeat spend (lifetimes), predict per
    customer. `summary`: one row per customer (purchase_summary or transaction_summary, in
    days). Raises ValueError with the reason when the data cannot support a fit."""
    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import _customer_lifetime_value

    if summary.empty:
        raise ValueError("fct_orders holds no attributed purchases before the as-of date")
    summary = summary.assign(
        recency=summary["recency"] / DAYS_PER_UNIT, T=summary["T"] / DAYS_PER_UNIT
    )
    repeaters = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if len(repeaters) < 20:
        raise ValueError(
            f"only {len(repeaters)} customers with a repeat purchase of positive value: "
            "too few to fit the Gamma-Gamma spend model"
        )

    # BG/NBD sees a customer only through (frequency, recency, T): fit and predict once per
    # purchase pattern, weighted by its customer count, as Fader and Hardie condense the data.
    # lifetimes divides the weighted log-likelihood by the weight total, so the objective is the
    # per-customer one and so are the parameters.
    pattern_of, patterns = _purchase_patterns(summary)
    bgf = BetaGeoFitter(penalizer_coef=penalizer)
    bgf.fit(
        patterns["frequency"], patterns["recency"], patterns["T"], weights=patterns["customers"]
    )
    ggf = GammaGammaFitter(penalizer_coef=penalizer)
    ggf.fit(repeaters["frequency"], repeaters["monetary_value"])

    # Spend per future order: Gamma-Gamma's conditional expectation for customers with a
    # positive repeat spend; for the others the population mean, which Gamma-Gamma only has
    # when q > 1 (else its mean is infinite and the formula turns negative): then the observed
    # mean repeat order value stands in, and the metadata says so.
    p, q, v = (float(ggf.params_[name]) for name in ("p", "q", "v"))
    has_spend = (summary["frequency"] > 0) & (summary["monetary_value"] > 0)
    population_spend = v * p / (q - 1) if q > 1 else float(repeaters["monetary_value"].mean())
    monetary = summary["monetary_value"].where(has_spend, 0.0)
    expected_spend = pd.Series(population_spend, index=summary.index, dtype=float)
    expected_spend[has_spend] = ggf.conditional_expected_average_profit(
        summary.loc[has_spend, "frequency"], summary.loc[has_spend, "monetary_value"]
    )
    frequency, recency, age = patterns["frequency"], patterns["recency"], patterns["T"]
    probability_alive = np.asarray(
        bgf.conditional_probability_alive(frequency, recency, age), dtype=float
    )[pattern_of]
    expected_90 = np.asarray(
        bgf.conditional_expected_number_of_purchases_up_to_time(
            90 / DAYS_PER_UNIT, frequency, recency, age
        ),
        dtype=float,
    )[pattern_of]
    # lifetimes' discounted-cash-flow helper (what GammaGammaFitter.customer_lifetime_value
    # calls after its own spend estimate). It sums spend x the expected purchases of each month,
    # discounted, so per pattern it runs with a spend of 1 and each customer's value is that
    # discount factor times the spend estimate above.
    discounted_purchases = _customer_lifetime_value(
        bgf,
        frequency,
        recency,
        age,
        pd.Series(1.0, index=patterns.index),
        time=12,
        discount_rate=discount_rate_monthly,
        freq="W",
    )
    clv_12 = np.asarray(discounted_purchases, dtype=float)[pattern_of] * np.asarray(
        expected_spend, dtype=float
    )

    customers = pd.DataFrame(
        {
            "customer_id": summary.index.astype(str),
            "as_of_date": as_of,
            "repeat_purchases": summary["frequency"].astype(int).to_numpy(),
            "recency_weeks": summary["recency"].to_numpy(),
            "age_weeks": summary["T"].to_numpy(),
            "average_repeat_order_value": monetary.to_numpy(),
            "expected_order_value": np.asarray(expected_spend, dtype=float),
            "probability_alive": np.asarray(probability_alive, dtype=float),
            "expected_purchases_90_days": np.asarray(expected_90, dtype=float),
            "predicted_clv_12_months": np.asarray(clv_12, dtype=float),
        }
    )
    customers["churn_risk_segment"] = churn_risk(customers["probability_alive"])

    histogram = _repeat_histogram_fit(bgf, summary)
    total = histogram["observed"].sum()
    metadata = {
        "as_of_date": as_of.isoformat(),
        "customers": len(customers),
        "repeat_customers": int((summary["frequency"] > 0).sum()),
        "time_unit": "week",
        "penalizer_coef": penalizer,
        "bgnbd_params": {k: round(float(v), 6) for k, v in bgf.params_.items()},
        "bgnbd_log_likelihood": float(-bgf._negative_log_likelihood_ * len(summary)),
        "gamma_gamma_params": {k: round(float(v), 6) for k, v in ggf.params_.items()},
        "gamma_gamma_customers": len(repeaters),
        "gamma_gamma_mean_defined": q > 1,
        "population_order_value": round(population_spend, 2),
        # the share of customers the model puts in the wrong repeat-purchase bucket
        "repeat_histogram_misfit_share": float(
            (histogram["observed"] - histogram["expected"]).abs().sum() / (2 * total)
        ),
        "repeat_histogram": histogram.round(1).to_dict(orient="records"),
        "churn_risk_customers": customers["churn_risk_segment"].value_counts().to_dict(),
        "total_predicted_clv_12_months": round(
            float(customers["predicted_clv_12_months"].sum()), 2
        ),
    }
    return ClvResult(customers=customers, metadata=metadata)


def write_customer_clv(warehouse: Path | str, customers: pd.DataFrame) -> None:
    """Replace marts.customer_clv in one transaction."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("begin")
        con.execute("create schema if not exists marts")
        con.register("customer_clv_frame", customers)
        con.execute(
            """
            create or replace table marts.customer_clv as
            select
                cast(customer_id as varchar) as customer_id,
                cast(as_of_date as date) as as_of_date,
                cast(repeat_purchases as integer) as repeat_purchases,
                recency_weeks,
                age_weeks,
                cast(average_repeat_order_value as decimal(18, 2)) as average_repeat_order_value,
                cast(expected_order_value as decimal(18, 2)) as expected_order_value,
                probability_alive,
                expected_purchases_90_days,
                cast(predicted_clv_12_months as decimal(18, 2)) as predicted_clv_12_months,
                churn_risk_segment
            from customer_clv_frame
            """
        )
        con.execute("commit")
    finally:
        con.close()


class ClvConfig(dg.Config):
    """Run configuration of the CLV fit (all optional)."""

    as_of_date: str | None = None  # YYYY-MM-DD; default: as the dbt build of this run, or today
    penalizer_coef: float = 0.001
    discount_rate_monthly: float = 0.01


@dg.asset(
    key=CUSTOMER_CLV_KEY,
    deps=[FCT_ORDERS_KEY],
    group_name="sales",
    kinds={"python", "duckdb"},
    description=(
        "Predicted customer lifetime value: BG/NBD (probability alive, expected purchases in "
        "90 days) and Gamma-Gamma (spend) fitted with lifetimes on fct_orders' purchases; "
        "12-month CLV at 1% monthly discount; churn risk high (<0.3 alive), medium (<0.7), "
        "low. Parameters and fit quality are recorded as metadata."
    ),
)
def customer_clv(context: dg.AssetExecutionContext, config: ClvConfig) -> dg.MaterializeResult:
    from orchestration.dbt_assets import as_of_date_for_run

    as_of_text = as_of_date_for_run(config.as_of_date, dict(context.run.tags))
    as_of = date.fromisoformat(as_of_text) if as_of_text else date.today()
    settings = get_settings()
    warehouse = settings.warehouse_path
    with locks.build_step(settings.data_dir, "customer CLV"):
        summary = warehouse_purchase_summary(warehouse, as_of)
        result = compute_clv(
            summary,
            as_of,
            penalizer=config.penalizer_coef,
            discount_rate_monthly=config.discount_rate_monthly,
        )
        write_customer_clv(warehouse, result.customers)
    context.log.info(
        f"CLV as of {as_of}: BG/NBD {result.metadata['bgnbd_params']}, "
        f"misfit {result.metadata['repeat_histogram_misfit_share']:.3f}"
    )
    metadata = dict(result.metadata)
    metadata["repeat_histogram"] = dg.MetadataValue.md(
        pd.DataFrame(metadata["repeat_histogram"]).to_markdown(index=False)
    )
    metadata["bgnbd_params"] = dg.MetadataValue.json(metadata["bgnbd_params"])
    metadata["gamma_gamma_params"] = dg.MetadataValue.json(metadata["gamma_gamma_params"])
    metadata["churn_risk_customers"] = dg.MetadataValue.json(metadata["churn_risk_customers"])
    metadata["dagster/row_count"] = len(result.customers)
    return dg.MaterializeResult(metadata=metadata)
