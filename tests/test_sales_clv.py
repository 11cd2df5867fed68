"""CLV helpers and the BG/NBD calibration recipe, without a warehouse (fast)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from orchestration.assets.clv import (
    DAYS_PER_UNIT,
    churn_risk,
    compute_clv,
    purchase_summary,
    transaction_summary,
)
from orchestration.cdnow import (
    CALIBRATION_END,
    PUBLISHED_BGNBD,
    calibration_summary,
    fit_bgnbd,
    load_master,
    load_sample_customer_ids,
)


def test_churn_risk_bands():
    alive = pd.Series([0.0, 0.29, 0.3, 0.69, 0.7, 1.0])
    assert churn_risk(alive).tolist() == ["high", "high", "medium", "medium", "low", "low"]


def test_calibration_recipe_reproduces_the_published_fit():
    """Purchase days, weeks = days / 7, calibration to 1997-09-30: the recipe the CDNOW test
    applies to the marts, checked here on the raw file."""
    master = load_master()
    sample = master[master["customer_id"].isin(load_sample_customer_ids())]
    transactions = sample.rename(columns={"date": "ordered_date"})[["customer_id", "ordered_date"]]
    transactions["ordered_date"] = pd.to_datetime(transactions["ordered_date"])
    summary = calibration_summary(transactions)
    assert len(summary) == 2_357
    assert summary["T"].max() == pytest.approx((CALIBRATION_END - date(1997, 1, 1)).days / 7)
    params = fit_bgnbd(summary)
    for name, published in PUBLISHED_BGNBD.items():
        assert params[name] == pytest.approx(published, rel=0.01)


def _cdnow_transactions(master: pd.DataFrame) -> pd.DataFrame:
    """CDNOW's purchases in the shape compute_clv reads from fct_orders."""
    return pd.DataFrame(
        {
            "customer_id": master["customer_id"].astype(str),
            "ordered_date": master["date"],
            "net_amount": master["dollar_value"],
        }
    )


def test_compute_clv_refuses_data_too_thin_to_fit():
    nothing = pd.DataFrame(columns=["customer_id", "ordered_date", "net_amount"])
    with pytest.raises(ValueError, match="no attributed purchases"):
        compute_clv(transaction_summary(nothing, date(2026, 1, 1)), date(2026, 1, 1))
    few = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "ordered_date": [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)],
            "net_amount": [10.0, 20.0, 5.0],
        }
    )
    with pytest.raises(ValueError, match="too few"):
        compute_clv(transaction_summary(few, date(2026, 1, 1)), date(2026, 1, 1))


def test_compute_clv_predictions_are_coherent():
    """On the CDNOW transactions: every customer predicted, probabilities in [0, 1], and the
    model orders customers sensibly (recent frequent buyers beat lapsed ones)."""
    master = load_master()
    transactions = _cdnow_transactions(master)
    as_of = date(1998, 7, 1)
    result = compute_clv(transaction_summary(transactions, as_of), as_of)
    customers = result.customers.set_index("customer_id")
    assert len(customers) == 23_570
    assert customers["probability_alive"].between(0, 1).all()
    assert (customers["expected_purchases_90_days"] >= 0).all()
    assert set(customers["churn_risk_segment"]) == {"high", "medium", "low"}
    assert result.metadata["repeat_histogram_misfit_share"] < 0.1
    # a customer who bought often up to the end vs one who bought often and stopped early
    last = master.groupby("customer_id")["date"].max()
    days = master.groupby("customer_id")["date"].nunique()
    active = days[(days >= 5) & (last >= as_of - timedelta(days=30))].index
    lapsed = days[(days >= 5) & (last <= date(1997, 6, 30))].index
    assert (
        customers.loc[active, "probability_alive"].median()
        > customers.loc[lapsed, "probability_alive"].median() + 0.3
    )


def test_fitting_purchase_patterns_matches_fitting_every_customer():
    """compute_clv fits and predicts once per (frequency, recency, T) pattern, weighted by its
    customer count: the parameters and every customer's predictions must be those of lifetimes
    run on one row per customer."""
    from lifetimes import BetaGeoFitter

    master = load_master()
    as_of = date(1998, 7, 1)
    # lifetimes' own summary (transaction_summary wraps summary_data_from_transaction_data)
    summary = transaction_summary(_cdnow_transactions(master), as_of)
    result = compute_clv(summary, as_of)

    weeks = summary.assign(
        recency=summary["recency"] / DAYS_PER_UNIT, T=summary["T"] / DAYS_PER_UNIT
    )
    assert len(weeks[["frequency", "recency", "T"]].drop_duplicates()) < len(weeks)
    per_customer = BetaGeoFitter(penalizer_coef=0.001).fit(
        weeks["frequency"], weeks["recency"], weeks["T"]
    )
    for name, value in per_customer.params_.items():
        assert result.metadata["bgnbd_params"][name] == pytest.approx(value, rel=1e-5)
    customers = result.customers.set_index("customer_id").loc[weeks.index]
    assert customers["repeat_purchases"].tolist() == weeks["frequency"].astype(int).tolist()
    assert customers["probability_alive"].to_numpy() == pytest.approx(
        per_customer.conditional_probability_alive(
            weeks["frequency"], weeks["recency"], weeks["T"]
        ),
        rel=1e-6,
    )
    assert customers["expected_purchases_90_days"].to_numpy() == pytest.approx(
        per_customer.conditional_expected_number_of_purchases_up_to_time(
            90 / DAYS_PER_UNIT, weeks["frequency"], weeks["recency"], weeks["T"]
        ),
        rel=1e-6,
    )


def test_warehouse_summary_is_lifetimes_summary():
    """purchase_summary (SQL, where the orders are) gives lifetimes'
    summary_data_from_transaction_data row for row: CDNOW's purchases as fct_orders rows, with
    several orders on some days, returns (negative amounts) and orders after the as-of date."""
    import duckdb

    master = load_master()
    as_of = date(1997, 10, 1)
    orders = pd.DataFrame(
        {
            "customer_id": master["customer_id"].astype(str),
            "ordered_date": pd.to_datetime(master["date"]).dt.date,
            "net_amount": master["dollar_value"].round(2),
            "is_purchase": True,
        }
    )
    # noise the summary must ignore: unattributed orders and non-purchases (cancellations)
    noise = orders.head(50).assign(customer_id=None)
    cancelled = orders.head(50).assign(is_purchase=False, net_amount=-1e6)
    fct_orders = pd.concat([orders, noise, cancelled], ignore_index=True)
    assert (orders["ordered_date"] >= as_of).any() and (orders["net_amount"] <= 0).any()
    assert orders.duplicated(["customer_id", "ordered_date"]).any()

    con = duckdb.connect()
    con.register("fct_orders_frame", fct_orders)
    con.execute(
        "create table fct_orders as select customer_id, ordered_date, "
        "cast(net_amount as decimal(18, 2)) as net_amount, is_purchase from fct_orders_frame"
    )
    ours = purchase_summary(con, as_of, orders="fct_orders")
    reference = transaction_summary(
        orders[["customer_id", "ordered_date", "net_amount"]], as_of
    ).sort_index()
    assert ours.index.tolist() == reference.index.tolist()
    assert len(ours) == 23_570
    for column in ("frequency", "recency", "T"):
        assert ours[column].tolist() == reference[column].astype(float).tolist(), column
    assert ours["monetary_value"].to_numpy() == pytest.approx(
        reference["monetary_value"].to_numpy(), rel=1e-9, abs=1e-9
    )
    assert (ours["frequency"] > 0).sum() == 9_451  # customers with a repeat purchase
