"""The real CDNOW transactions (from lifetimes) as landing files for the clientbase pipeline."""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import pandas as pd

from orchestration.extraction.schemas import get_table

# Fader, Hardie & Lee (2005) fit BG/NBD on the 1/10 sample of the cohort that first bought in
# Q1 1997, in weeks, with 39 weeks of calibration: 1997-01-01 .. 1997-09-30.
FIRST_DAY = date(1997, 1, 1)
CALIBRATION_END = date(1997, 9, 30)
OBSERVATION_END = date(1998, 6, 30)
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}

# Every CD is one product; the data set knows nothing finer.
PRODUCT_ID = "cdnow-cd"
CONTACT_PREFIX = "cdnow-"
# CDNOW sold online only: one shop order per transaction, on the web channel, at noon UTC (the
# file has dates only; noon keeps the UTC date equal to the file's date).
ORDER_TIME = "12:00:00Z"


def _datasets_dir() -> Path:
    import lifetimes.datasets

    return Path(lifetimes.datasets.__file__).parent


def load_master() -> pd.DataFrame:
    """CDNOW_master.txt: customer_id, date, number_of_cds, dollar_value (69,659 transactions)."""
    frame = pd.read_csv(
        _datasets_dir() / "CDNOW_master.txt",
        sep=r"\s+",
        dtype={"customer_id": str, "date": str},
    )
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d").dt.date
    return frame


def load_sample_customer_ids() -> list[str]:
    """Master ids of the 2,357 customers of CDNOW_sample.txt (the published BG/NBD sample)."""
    sample = pd.read_csv(
        _datasets_dir() / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["customer_id", "sample_id", "date", "number_of_cds", "dollar_value"],
        dtype={"customer_id": str},
    )
    return sorted(sample["customer_id"].unique())


def contact_id(cdnow_customer_id: str) -> str:
    return f"{CONTACT_PREFIX}{cdnow_customer_id}"


def _write_csv(path: Path, columns: list[str], rows: Iterable[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})


def _write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_cdnow_landing(landing_dir: Path | str, *, force: bool = False) -> dict[str, int]:
    """Write CDNOW as the landing files of a shop: one CRM contact per customer (exported on the
    day of their first purchase) and one logged-in web order (user_id = the contact) with one
    line per transaction, plus the reference files. Identity then resolves every customer to
    exactly one customer_id through the contact id. Amounts are the file's US dollars; the
    currency field is left empty because the landing contract only documents RUB.
    Returns row counts per file type."""
    landing_dir = Path(landing_dir)
    if landing_dir.exists() and any(landing_dir.iterdir()):
        if not force:
            raise FileExistsError(f"{landing_dir} is not empty; pass force=True to replace it")
        shutil.rmtree(landing_dir)
    landing_dir.mkdir(parents=True, exist_ok=True)
    # The Dagster daily partitions start at CLIENTBASE_START_DATE (read when the definitions
    # are imported, after this): they must reach back to CDNOW's 1997 landing days.
    configured_start = os.environ.get("CLIENTBASE_START_DATE")
    if configured_start is None or configured_start > FIRST_DAY.isoformat():
        os.environ["CLIENTBASE_START_DATE"] = FIRST_DAY.isoformat()

    master = load_master()
    # A stable order id per transaction: the customer, the day and the position within the
    # day in file order (customers made several transactions on one day).
    master["position"] = master.groupby(["customer_id", "date"]).cumcount() + 1
    master["order_id"] = (
        "cdnow-"
        + master["customer_id"]
        + "-"
        + master["date"].map(lambda d: d.strftime("%Y%m%d"))
        + "-"
        + master["position"].astype(str)
    )
    first_purchase = master.groupby("customer_id")["date"].min()

    contact_columns = get_table("crm", "contacts").column_names
    for day, customers in first_purchase.groupby(first_purchase):
        stamp = f"{day.isoformat()}T00:00:00Z"
        _write_csv(
            landing_dir / "crm" / day.isoformat() / "contacts.csv",
            contact_columns,
            (
                {
                    "contact_id": contact_id(customer),
                    "tags": "cdnow",
                    "created_at": stamp,
                    "updated_at": stamp,
                }
                for customer in customers.index
            ),
        )

    for day, transactions in master.groupby("date"):
        stamp = f"{day.isoformat()}T{ORDER_TIME}"
        orders, lines = [], []
        for row in transactions.itertuples(index=False):
            amount = round(float(row.dollar_value), 2)
            orders.append(
                {
                    "order_id": row.order_id,
                    "created_at": stamp,
                    "updated_at": stamp,
                    "status": "completed",
                    "user_id": contact_id(row.customer_id),
                    "channel": "web",
                    "subtotal_amount": amount,
                    "discount_amount": 0,
                    "shipping_amount": 0,
                    "total_amount": amount,
                }
            )
            lines.append(
                {
                    "order_line_id": f"{row.order_id}-1",
                    "order_id": row.order_id,
                    "product_id": PRODUCT_ID,
                    "quantity": int(row.number_of_cds),
                    "unit_price": round(amount / int(row.number_of_cds), 2),
                    "discount_amount": 0,
                    "line_amount": amount,
                }
            )
        _write_jsonl(landing_dir / "shop" / day.isoformat() / "orders.jsonl", orders)
        _write_jsonl(landing_dir / "shop" / day.isoformat() / "order_lines.jsonl", lines)

    _write_csv(
        landing_dir / "reference" / "products.csv",
        get_table("reference", "products").column_names,
        [
            {
                "product_id": PRODUCT_ID,
                "sku": "CD",
                "product_name": "Compact disc",
                "category_l1": "music",
                "category_l2": "cd",
                "category_l3": "cd",
                "currency": "",
            }
        ],
    )
    # CDNOW had no shops; the reference file still has to exist for the stores source.
    _write_csv(
        landing_dir / "reference" / "stores.csv",
        get_table("reference", "stores").column_names,
        [
            {
                "store_id": "cdnow-web",
                "store_name": "CDNOW (online only)",
                "city": "Fort Washington",
                "country_code": "US",
                "time_zone": "America/New_York",
                "opened_at": "1994-08-01",
            }
        ],
    )
    return {
        "customers": int(first_purchase.size),
        "orders": len(master),
        "contact_days": int(first_purchase.nunique()),
        "order_days": int(master["date"].nunique()),
    }


def calibration_summary(transactions: pd.DataFrame) -> pd.DataFrame:
    """Frequency / recency / T in weeks with the published calibration period, from a frame of
    `customer_id`, `ordered_date` (one row per order): lifetimes collapses orders of one day
    into one purchase and counts days; weeks are days / 7, as in Fader, Hardie & Lee (2005)."""
    from lifetimes.utils import summary_data_from_transaction_data

    summary = summary_data_from_transaction_data(
        transactions,
        "customer_id",
        "ordered_date",
        observation_period_end=pd.Timestamp(CALIBRATION_END),
        freq="D",
    )
    summary["recency"] = summary["recency"] / 7.0
    summary["T"] = summary["T"] / 7.0
    return summary


def fit_bgnbd(summary: pd.DataFrame) -> dict[str, float]:
    """BG/NBD parameters (r, alpha, a, b) fitted by lifetimes on a calibration summary."""
    from lifetimes import BetaGeoFitter

    fitter = BetaGeoFitter(penalizer_coef=0.0)
    fitter.fit(summary["frequency"], summary["recency"], summary["T"])
    return {name: float(value) for name, value in fitter.params_.items()}
