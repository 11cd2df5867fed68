"""fct_orders / fct_order_lines incremental runs give exactly what a full rebuild gives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.config import DBT_PROJECT_DIR, REPO_DIR
from orchestration.extraction.schemas import get_table

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FACTS = ("fct_orders", "fct_order_lines")


def _csv(path: Path, system: str, table: str, rows: list[dict]) -> None:
    columns = get_table(system, table).column_names
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(columns)] + [",".join(str(r.get(c, "")) for c in columns) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _order(order_id, day, status, updated_day=None, user_id=None, email=None, total=100):
    return {
        "order_id": order_id,
        "created_at": f"{day}T10:00:00Z",
        "updated_at": f"{updated_day or day}T11:00:00Z",
        "status": status,
        "user_id": user_id,
        "email": email,
        "channel": "web",
        "currency": "RUB",
        "subtotal_amount": total,
        "discount_amount": 0,
        "shipping_amount": 0,
        "total_amount": total,
    }


def _line(order_id, total=100):
    return {
        "order_line_id": f"{order_id}-1",
        "order_id": order_id,
        "product_id": "P1",
        "quantity": 1,
        "unit_price": total,
        "line_amount": total,
    }


def _receipt(receipt_id, local_time, receipt_type="sale", original=None, total=500):
    return {
        "receipt_id": receipt_id,
        "store_id": "S1",
        "customer_phone": "+79161234567",
        "receipt_type": receipt_type,
        "total_amount": total,
        "payment_method": "card",
        "created_at_local": local_time,
        "original_receipt_id": original or "",
    }


def _receipt_line(receipt_id, total=500):
    return {
        "receipt_id": receipt_id,
        "line_number": 1,
        "product_id": "P1",
        "quantity": 1,
        "unit_price": total,
        "line_amount": total,
    }


def write_days(landing: Path, days: list[str]) -> None:
    """Three export days of a tiny shop: orders, a later status change, a POS sale and its
    return two days later, and a contact whose phone ties the receipts to them."""
    _csv(
        landing / "reference" / "stores.csv",
        "reference",
        "stores",
        [{"store_id": "S1", "store_name": "Main", "time_zone": "Asia/Yekaterinburg"}],
    )
    _csv(
        landing / "reference" / "products.csv",
        "reference",
        "products",
        [{"product_id": "P1", "product_name": "Dress", "category_l1": "women", "price": 100}],
    )
    content = {
        "2026-03-01": {
            "contacts": [
                {
                    "contact_id": "C1",
                    "email": "anna@mail.ru",
                    "phone": "+79161234567",
                    "created_at": "2026-03-01T08:00:00Z",
                    "updated_at": "2026-03-01T08:00:00Z",
                }
            ],
            "orders": [_order("O1", "2026-03-01", "completed", user_id="C1")],
            "receipts": [_receipt("R1", "01.03.2026 23:30:00")],
        },
        "2026-03-02": {
            "orders": [_order("O2", "2026-03-02", "completed", email="anna@mail.ru", total=50)],
        },
        "2026-03-03": {
            # O1 is returned (a status change exported on day 3), R1 partly returned
            "orders": [_order("O1", "2026-03-01", "returned", "2026-03-03", user_id="C1")],
            "receipts": [_receipt("R2", "03.03.2026 12:00:00", "return", "R1", total=200)],
        },
    }
    for day in days:
        parts = content[day]
        if "contacts" in parts:
            _csv(landing / "crm" / day / "contacts.csv", "crm", "contacts", parts["contacts"])
        if "orders" in parts:
            _jsonl(landing / "shop" / day / "orders.jsonl", parts["orders"])
            new = [o for o in parts["orders"] if o["created_at"].startswith(day)]
            _jsonl(
                landing / "shop" / day / "order_lines.jsonl", [_line(o["order_id"]) for o in new]
            )
        if "receipts" in parts:
            _csv(landing / "pos" / day / "receipts.csv", "pos", "receipts", parts["receipts"])
            _csv(
                landing / "pos" / day / "receipt_lines.csv",
                "pos",
                "receipt_lines",
                [_receipt_line(r["receipt_id"], r["total_amount"]) for r in parts["receipts"]],
            )


def _extract(data_dir: Path, days: list[str]) -> None:
    from orchestration.assets.contact_points import write_contact_point_checks
    from orchestration.extraction.__main__ import extract_all

    extract_all(data_dir / "landing", data_dir / "raw", days=days)
    write_contact_point_checks(data_dir / "raw")


def _dbt(env: dict[str, str], *args: str) -> None:
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), *args, "--profiles-dir", str(REPO_DIR)],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]


def _rows(warehouse: Path, table: str) -> list[tuple]:
    # every column but the stamp of the run that wrote the row: a re-run rewrites rows with
    # the same values and its own stamp
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return sorted(
            con.execute(f"select * exclude (_staged_at) from marts.{table}").fetchall(), key=repr
        )
    finally:
        con.close()


def test_incremental_window_equals_full_rebuild(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CLIENTBASE_WAREHOUSE"}
    env.update(
        CLIENTBASE_DATA_DIR=str(tmp_path),
        DBT_TARGET_PATH=str(tmp_path / "target"),
        DBT_LOG_PATH=str(tmp_path / "logs"),
    )
    warehouse = tmp_path / "warehouse.duckdb"
    # upstream models and seeds, without anybody's tests (their own suites run them)
    select = [
        "--select", "+fct_order_lines",
        "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test",
    ]  # fmt: skip

    write_days(tmp_path / "landing", ["2026-03-01", "2026-03-02"])
    _extract(tmp_path, ["2026-03-01", "2026-03-02"])
    _dbt(env, "build", *select)
    before = {t: _rows(warehouse, t) for t in FACTS}
    assert len(before["fct_orders"]) == 3

    # Day 3 arrives: O1 is returned, R1 partly returned. Only day 3's window is re-processed,
    # yet the sale rows written on days 1-2 change.
    write_days(tmp_path / "landing", ["2026-03-03"])
    _extract(tmp_path, ["2026-03-01", "2026-03-02", "2026-03-03"])
    window = '{window_start: "2026-03-03", window_end: "2026-03-04"}'
    _dbt(env, "build", *select, "--vars", window)
    incremental = {t: _rows(warehouse, t) for t in FACTS}
    # the same window again changes nothing
    _dbt(env, "run", "--select", *FACTS, "--vars", window)
    assert {t: _rows(warehouse, t) for t in FACTS} == incremental
    _dbt(env, "run", "--select", *FACTS, "--full-refresh")
    rebuilt = {t: _rows(warehouse, t) for t in FACTS}
    assert incremental == rebuilt

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        orders = {
            r[0]: r[1:]
            for r in con.execute(
                "select order_id, order_status, net_amount, customer_id, ordered_at "
                "from marts.fct_orders"
            ).fetchall()
        }
    finally:
        con.close()
    assert orders["shop-O1"][:2] == ("returned", 0)
    assert orders["pos-R1"][:2] == ("partially_returned", 300)
    assert orders["pos-R2"][:2] == ("completed", 0)  # netted onto R1
    # one person: the contact, their guest order (same email) and their receipts (phone)
    assert len({v[2] for v in orders.values()}) == 1 and None not in {v[2] for v in orders.values()}
    # 23:30 in Yekaterinburg (UTC+5) is 18:30 UTC
    assert str(orders["pos-R1"][3]) == "2026-03-01 18:30:00"
