"""The RFM and cohort marts as an analyst would write them in a pandas notebook (benchmark peer).

Same rules as dbt's `customer_rfm` (macros/sales/rfm_snapshots_scored.sql, as-of snapshot) and
`cohort_retention`, computed from `marts.fct_orders` and the `rfm_segments` seed of a built
warehouse. Run as a subprocess by benchmarks/run.py so its time and peak memory are its own:

    python -m benchmarks.pandas_marts <warehouse.duckdb> <as_of YYYY-MM-DD> <out_dir>
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd


def load(warehouse: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    con = duckdb.connect(warehouse, read_only=True)
    try:
        orders = con.execute(
            "select order_id, customer_id, ordered_at, ordered_date, sales_channel,"
            " is_purchase, net_amount from marts.fct_orders"
        ).df()
        segments = con.execute(
            "select recency_score, frequency_monetary_score, segment, segment_name"
            " from reference.rfm_segments"
        ).df()
    finally:
        con.close()
    return orders, segments


def _month_index(dates: pd.Series) -> pd.Series:
    return dates.dt.year * 12 + dates.dt.month


def customer_rfm(orders: pd.DataFrame, segments: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    o = orders[orders["customer_id"].notna() & (orders["ordered_date"] < as_of)].copy()
    # money in integer cents: float sums would break ties in the monetary ranking
    o["cents"] = (o["net_amount"] * 100).round().astype("int64")
    o["purchase"] = o["is_purchase"].astype("int64")
    days = (
        o.groupby(["customer_id", "ordered_date"], sort=False)
        .agg(is_purchase_day=("purchase", "max"), purchase_orders=("purchase", "sum"),
             cents=("cents", "sum"))
        .reset_index()
    )
    purchase_days = days[days["is_purchase_day"] == 1]
    per = days.groupby("customer_id").agg(
        frequency=("is_purchase_day", "sum"),
        purchase_orders=("purchase_orders", "sum"),
        cents=("cents", "sum"),
    )
    span = purchase_days.groupby("customer_id")["ordered_date"].agg(["min", "max"])
    per = per.join(span.rename(columns={"min": "first_purchase_date",
                                        "max": "last_purchase_date"}))
    per = per[per["frequency"] > 0].reset_index()
    per["recency_days"] = (as_of - per["last_purchase_date"]).dt.days
    repeat = per["frequency"] > 1
    per["average_days_between_purchases"] = np.where(
        repeat,
        (per["last_purchase_date"] - per["first_purchase_date"]).dt.days
        / (per["frequency"] - 1).where(repeat, 1),
        np.nan,
    )
    median_cycle = per["average_days_between_purchases"].median()
    n = len(per)
    ranks = {
        "recency": per["recency_days"].rank(method="min", ascending=False),
        "frequency": per["frequency"].rank(method="min", ascending=True),
        "monetary": per["cents"].rank(method="min", ascending=True),
    }
    for dim, rank in ranks.items():
        per[f"{dim}_score"] = (1 + np.floor(5.0 * (rank - 1) / n)).astype("int64")
        per[f"{dim}_letter"] = np.select(
            [3 * (rank - 1) < n, 3 * (rank - 1) < 2 * n], ["A", "B"], "C"
        )
    per["rfm_score"] = (
        per["recency_score"].astype(str) + per["frequency_score"].astype(str)
        + per["monetary_score"].astype(str)
    )
    per["rfm_cell"] = per["recency_letter"] + per["frequency_letter"] + per["monetary_letter"]
    per["frequency_monetary_score"] = np.floor(
        (per["frequency_score"] + per["monetary_score"] + 1) / 2.0
    ).astype("int64")
    per = per.merge(segments, how="left", on=["recency_score", "frequency_monetary_score"])
    per["repurchase_cycle_days"] = per["average_days_between_purchases"].fillna(median_cycle)
    per["is_sleeping"] = (per["recency_days"] > per["repurchase_cycle_days"]).fillna(False)
    per["monetary"] = per["cents"] / 100
    per["as_of_date"] = as_of
    return per[[
        "customer_id", "as_of_date", "first_purchase_date", "last_purchase_date",
        "recency_days", "frequency", "purchase_orders", "monetary", "recency_score",
        "frequency_score", "monetary_score", "rfm_score", "rfm_cell", "segment", "segment_name",
        "average_days_between_purchases", "repurchase_cycle_days", "is_sleeping",
    ]]


def cohort_retention(orders: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    o = orders[orders["customer_id"].notna() & (orders["ordered_date"] < as_of)].copy()
    o["cents"] = (o["net_amount"] * 100).round().astype("int64")
    first = (
        o[o["is_purchase"]]
        .sort_values(["ordered_at", "order_id"])
        .drop_duplicates("customer_id")[["customer_id", "ordered_date", "sales_channel"]]
        .rename(columns={"sales_channel": "acquisition_channel"})
    )
    first["cohort_month"] = first["ordered_date"].dt.to_period("M").dt.to_timestamp()
    members = first[["customer_id", "cohort_month", "acquisition_channel"]]
    activity = members.merge(o, on="customer_id")
    offset = _month_index(activity["ordered_date"]) - _month_index(activity["cohort_month"])
    activity["months_since_acquisition"] = offset.where(
        activity["ordered_date"] >= activity["cohort_month"], 0
    )
    per_month = (
        activity.groupby(
            ["customer_id", "cohort_month", "acquisition_channel", "months_since_acquisition"]
        )
        .agg(is_active=("is_purchase", "max"), cents=("cents", "sum"))
        .reset_index()
    )
    per_month["is_active"] = per_month["is_active"].astype("int64")
    splits = pd.concat([per_month.assign(acquisition_channel="all"), per_month])
    cells = (
        splits.groupby(["cohort_month", "acquisition_channel", "months_since_acquisition"])
        .agg(active_customers=("is_active", "sum"), cents=("cents", "sum"))
        .reset_index()
    )
    member_splits = pd.concat([members.assign(acquisition_channel="all"), members])
    sizes = (
        member_splits.groupby(["cohort_month", "acquisition_channel"]).size()
        .rename("cohort_customers").reset_index()
    )
    last_day = as_of - pd.Timedelta(days=1)
    last_month = last_day.year * 12 + last_day.month
    sizes["months"] = last_month - _month_index(sizes["cohort_month"]) + 1
    grid = sizes.loc[sizes.index.repeat(sizes["months"])].copy()
    grid["months_since_acquisition"] = grid.groupby(
        ["cohort_month", "acquisition_channel"]).cumcount()
    grid = grid.merge(
        cells, how="left", on=["cohort_month", "acquisition_channel", "months_since_acquisition"]
    )
    grid["active_customers"] = grid["active_customers"].fillna(0).astype("int64")
    grid["cents"] = grid["cents"].fillna(0).astype("int64")
    grid = grid.sort_values(["cohort_month", "acquisition_channel", "months_since_acquisition"])
    cumulative = grid.groupby(["cohort_month", "acquisition_channel"])["cents"].cumsum()
    grid["cohort_cell_id"] = (
        grid["cohort_month"].dt.strftime("%Y-%m-%d") + "|" + grid["acquisition_channel"] + "|"
        + grid["months_since_acquisition"].astype(str)
    )
    grid["activity_month"] = [
        month + pd.DateOffset(months=int(k))
        for month, k in zip(grid["cohort_month"], grid["months_since_acquisition"], strict=True)
    ]
    grid["retention_share"] = grid["active_customers"] / grid["cohort_customers"]
    grid["revenue"] = grid["cents"] / 100
    grid["cumulative_revenue"] = cumulative / 100
    # cents per customer, rounded half away from zero in integers (the SQL's decimal_divide)
    size = grid["cohort_customers"]
    per_customer = (cumulative.abs() * 2 + size) // (2 * size)
    grid["cumulative_revenue_per_customer"] = np.sign(cumulative) * per_customer / 100
    return grid[[
        "cohort_cell_id", "cohort_month", "acquisition_channel", "months_since_acquisition",
        "activity_month", "cohort_customers", "active_customers", "retention_share", "revenue",
        "cumulative_revenue", "cumulative_revenue_per_customer",
    ]]


def main(argv: list[str]) -> int:
    warehouse, as_of_text, out_dir = argv
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    orders, segments = load(warehouse)
    orders["ordered_date"] = pd.to_datetime(orders["ordered_date"])
    loaded = time.perf_counter()
    as_of = pd.Timestamp(as_of_text)
    rfm = customer_rfm(orders, segments, as_of)
    cohorts = cohort_retention(orders, as_of)
    done = time.perf_counter()
    rfm.to_parquet(out / "customer_rfm.parquet", index=False)
    cohorts.to_parquet(out / "cohort_retention.parquet", index=False)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "load_seconds": loaded - started, "compute_seconds": done - loaded,
        "seconds": done - started, "peak_rss_bytes": peak_kib * 1024,
        "rfm_rows": len(rfm), "cohort_rows": len(cohorts),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
