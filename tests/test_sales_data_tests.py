"""The sales marts' singular data tests (dbt_project/tests/marts/sales/) pass on consistent marts
and return a row when a mart disagrees with fct_orders: rendered with a stand-in `ref` and run on
small hand-made tables."""

from __future__ import annotations

from pathlib import Path

import duckdb
import jinja2
import pytest

TESTS_DIR = Path(__file__).resolve().parents[1] / "dbt_project" / "tests" / "marts" / "sales"
AS_OF = "2024-04-01"


def _render(name: str) -> str:
    template = jinja2.Environment().from_string((TESTS_DIR / f"{name}.sql").read_text())
    return template.render(ref=lambda model: model, as_of_date=lambda: f"date '{AS_OF}'")


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    # c1 first buys in January (and again in March), c2 in February, c3 only returns; c4 buys
    # after the as-of date
    con.execute(
        """
        create table fct_orders as
        select * from (values
            ('c1', date '2024-01-10', true, 10.00),
            ('c1', date '2024-03-05', true, 20.00),
            ('c2', date '2024-02-20', true, 5.00),
            ('c3', date '2024-02-21', false, -3.00),
            ('c4', date '2024-05-01', true, 7.00),
            (null, date '2024-01-11', true, 99.00)
        ) as t(customer_id, ordered_date, is_purchase, net_amount)
        """
    )
    # month-start snapshots: February sees c1, March c1 and c2, April c1 and c2
    con.execute(
        """
        create table customer_rfm_monthly as
        select * from (values
            ('2024-02', date '2024-02-01', 'c1'),
            ('2024-03', date '2024-03-01', 'c1'),
            ('2024-03', date '2024-03-01', 'c2'),
            ('2024-04', date '2024-04-01', 'c1'),
            ('2024-04', date '2024-04-01', 'c2')
        ) as t(snapshot_month, snapshot_date, customer_id)
        """
    )
    con.execute(
        """
        create table rfm_segment_transitions as
        select * from (values ('2024-02', 1), ('2024-03', 2), ('2024-04', 1), ('2024-04', 1))
            as t(snapshot_month, customers)
        """
    )
    # cohorts: c1 (January) and c2 (February) with their net revenue before the as-of date
    con.execute(
        """
        create table cohort_retention as
        select * from (values
            ('all', 0, 1, 30.00, 1), ('all', 0, 1, 5.00, 1),
            ('web', 0, 1, 30.00, 1), ('store', 0, 1, 5.00, 1)
        ) as t(acquisition_channel, months_since_acquisition, cohort_customers, revenue,
               active_customers)
        """
    )
    return con


def test_rfm_monthly_adds_up_passes_on_consistent_marts(con) -> None:
    assert con.execute(_render("rfm_monthly_adds_up")).fetchall() == []


def test_rfm_monthly_adds_up_fails_when_a_snapshot_misses_a_buyer(con) -> None:
    con.execute(
        "delete from customer_rfm_monthly where snapshot_month = '2024-03' and customer_id = 'c2'"
    )
    rows = con.execute(_render("rfm_monthly_adds_up")).fetchall()
    # March: 1 customer in the snapshot, 2 had bought before March 1st, 2 in the transitions
    assert rows == [("2024-03", 1, 2, 2)]


def test_rfm_monthly_adds_up_fails_when_a_snapshot_holds_a_non_buyer(con) -> None:
    con.execute("insert into customer_rfm_monthly values ('2024-02', date '2024-02-01', 'c2')")
    con.execute("update rfm_segment_transitions set customers = 2 where snapshot_month = '2024-02'")
    rows = con.execute(_render("rfm_monthly_adds_up")).fetchall()
    assert rows == [("2024-02", 2, 1, 2)]


def test_cohort_retention_adds_up_passes_on_consistent_marts(con) -> None:
    assert con.execute(_render("cohort_retention_adds_up_to_fct_orders")).fetchall() == []


def test_cohort_retention_adds_up_fails_on_missing_revenue(con) -> None:
    con.execute("update cohort_retention set revenue = 20.00 where revenue = 30.00")
    rows = con.execute(_render("cohort_retention_adds_up_to_fct_orders")).fetchall()
    assert [row[0] for row in rows] == ["all cohorts vs fct_orders"]
