"""CDNOW end to end: real transactions through extraction, dbt and CLV agree with the literature."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.cdnow import (
    PUBLISHED_BGNBD,
    calibration_summary,
    contact_id,
    fit_bgnbd,
    load_sample_customer_ids,
    write_cdnow_landing,
)
from orchestration.config import DBT_PROJECT_DIR, REPO_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

AS_OF = date(1998, 7, 1)  # the day after the last CDNOW transaction
CUSTOMERS = 23_570
TRANSACTIONS = 69_659
NEVER_BOUGHT_AGAIN = 12_054
REVENUE = 2_500_315.63
SALES_MARTS = "+customer_lifecycle +customer_traits +rfm_segment_transitions +cohort_retention"
SALES_TESTS = "path:models/intermediate/orders path:models/marts/sales path:tests/marts/sales"


@pytest.fixture(scope="module")
def cdnow_env(tmp_path_factory) -> dict[str, str]:
    """Landing files → raw zone → dbt build of the sales marts (with their tests) in a
    temporary data folder; returns the environment the pipeline ran with."""
    from orchestration.assets.contact_points import write_contact_point_checks
    from orchestration.extraction.__main__ import extract_all

    data_dir = tmp_path_factory.mktemp("cdnow")
    counts = write_cdnow_landing(data_dir / "landing")
    assert counts["customers"] == CUSTOMERS and counts["orders"] == TRANSACTIONS
    results = extract_all(data_dir / "landing", data_dir / "raw")
    assert all(r.is_conserved for r in results)
    assert sum(r.rows_quarantined for r in results) == 0
    # the other raw-zone producer of the nightly job (hygiene's checks, a dbt source too)
    write_contact_point_checks(data_dir / "raw")

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CLIENTBASE_WAREHOUSE", "CLIENTBASE_LANDING_DIR", "CLIENTBASE_TARGET")
    }
    env.update(
        CLIENTBASE_DATA_DIR=str(data_dir),
        DBT_TARGET_PATH=str(data_dir / "target"),
        DBT_LOG_PATH=str(data_dir / "logs"),
    )
    dbt = Path(sys.executable).parent / "dbt"
    common = ["--profiles-dir", str(REPO_DIR), "--vars", f"{{as_of_date: '{AS_OF.isoformat()}'}}"]
    # Build everything the sales marts need without the other areas' tests (their own suites
    # run them), then every test of the sales models, unit and singular tests included.
    for args in (
        [
            "build",
            "--select",
            *SALES_MARTS.split(),
            "--exclude-resource-type",
            "test",
            "--exclude-resource-type",
            "unit_test",
        ],
        ["test", "--select", *SALES_TESTS.split()],
    ):
        completed = subprocess.run(
            [str(dbt), *args, *common],
            cwd=DBT_PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert completed.returncode == 0, completed.stdout[-5000:] + completed.stderr[-2000:]
    return env


@pytest.fixture(scope="module")
def warehouse(cdnow_env) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(
        str(Path(cdnow_env["CLIENTBASE_DATA_DIR"]) / "warehouse.duckdb"), read_only=True
    )
    yield con
    con.close()


def _one(con: duckdb.DuckDBPyConnection, sql: str):
    (row,) = con.execute(sql).fetchall()  # fetch all: leaves no open result on the connection
    return row


def test_fct_orders_holds_every_transaction_attributed(warehouse):
    rows, customers, unattributed, revenue, purchases = _one(
        warehouse,
        "select count(*), count(distinct customer_id), count(*) - count(customer_id), "
        "sum(net_amount), count(*) filter (where is_purchase) from marts.fct_orders",
    )
    assert rows == TRANSACTIONS
    assert purchases == TRANSACTIONS  # includes the 80 zero-dollar transactions
    assert customers == CUSTOMERS
    assert unattributed == 0
    assert float(revenue) == pytest.approx(REVENUE, abs=0.005)


def test_each_cdnow_customer_is_one_customer(warehouse):
    """Identity resolves every CDNOW customer (contact + their orders) to exactly one customer."""
    contacts, customers, split = _one(
        warehouse,
        """
        with contacts as (
            select record_id as contact_id, customer_id
            from intermediate.int_source_records_resolved
            where record_type = 'crm_contact'
        ),
        orders as (
            select s.user_id, f.customer_id
            from marts.fct_orders as f
            inner join staging.stg_shop__orders as s on f.source_order_id = s.order_id
        )
        select
            count(distinct contacts.contact_id),
            count(distinct contacts.customer_id),
            count(*) filter (where orders.customer_id is distinct from contacts.customer_id)
        from orders
        left join contacts on orders.user_id = contacts.contact_id
        """,
    )
    assert contacts == CUSTOMERS
    assert customers == CUSTOMERS
    assert split == 0


def test_customers_and_never_bought_again(warehouse):
    traits, one_time = _one(
        warehouse,
        "select count(*), count(*) filter (where purchase_days = 1) from marts.customer_traits",
    )
    assert (traits, one_time) == (CUSTOMERS, NEVER_BOUGHT_AGAIN)
    rfm, rfm_one_time, monetary = _one(
        warehouse,
        "select count(*), count(*) filter (where frequency = 1), sum(monetary) "
        "from marts.customer_rfm",
    )
    assert (rfm, rfm_one_time) == (CUSTOMERS, NEVER_BOUGHT_AGAIN)
    assert float(monetary) == pytest.approx(REVENUE, abs=0.005)
    segments = dict(
        warehouse.execute(
            "select lifecycle_stage, count(*) from marts.customer_lifecycle group by 1"
        ).fetchall()
    )
    assert sum(segments.values()) == CUSTOMERS
    assert "prospect" not in segments  # every CDNOW contact bought


def test_cohorts_are_the_first_quarter_of_1997(warehouse):
    """CDNOW's master file is the cohort that first bought in Q1 1997."""
    cohorts = warehouse.execute(
        "select cohort_month, cohort_customers, max(months_since_acquisition) "
        "from marts.cohort_retention "
        "where acquisition_channel = 'all' group by 1, 2 order by 1"
    ).fetchall()
    assert [c[0] for c in cohorts] == [date(1997, 1, 1), date(1997, 2, 1), date(1997, 3, 1)]
    assert sum(c[1] for c in cohorts) == CUSTOMERS
    assert cohorts[0][2] == 17  # Jan 1997 .. Jun 1998
    revenue = _one(
        warehouse,
        "select sum(revenue) from marts.cohort_retention where acquisition_channel = 'all'",
    )[0]
    assert float(revenue) == pytest.approx(REVENUE, abs=0.005)


def test_bgnbd_on_the_sample_matches_fader_hardie_lee(warehouse):
    """BG/NBD on the 2,357-customer sample, 39 weeks of calibration, from OUR marts'
    transactions: r, alpha, a, b of Fader, Hardie & Lee (2005) within 1%."""
    sample = pd.DataFrame({"contact_id": [contact_id(i) for i in load_sample_customer_ids()]})
    warehouse.register("sample_contacts", sample)
    transactions = warehouse.execute(
        """
        select orders.customer_id, orders.ordered_date
        from marts.fct_orders as orders
        inner join intermediate.int_source_records_resolved as records
            on records.customer_id = orders.customer_id and records.record_type = 'crm_contact'
        inner join sample_contacts on sample_contacts.contact_id = records.record_id
        where orders.is_purchase
        """
    ).df()
    assert transactions["customer_id"].nunique() == 2_357
    summary = calibration_summary(transactions)
    assert len(summary) == 2_357
    params = fit_bgnbd(summary)
    for name, published in PUBLISHED_BGNBD.items():
        assert params[name] == pytest.approx(published, rel=0.01), (name, params)


def test_clv_asset_materialises_on_cdnow(cdnow_env, dbt_manifest, tmp_path, monkeypatch):
    """The Dagster CLV asset fits on the warehouse and writes marts.customer_clv."""
    import dagster as dg

    from orchestration.assets.clv import CUSTOMER_CLV_KEY, customer_clv
    from orchestration.dbt_assets import AS_OF_DATE_TAG

    # A copy: the module's read-only connection keeps the built warehouse open.
    warehouse_copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(Path(cdnow_env["CLIENTBASE_DATA_DIR"]) / "warehouse.duckdb", warehouse_copy)
    monkeypatch.setenv("CLIENTBASE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CLIENTBASE_WAREHOUSE", raising=False)
    result = dg.materialize([customer_clv], tags={AS_OF_DATE_TAG: AS_OF.isoformat()})
    assert result.success
    (event,) = result.get_asset_materialization_events()
    assert event.asset_key == CUSTOMER_CLV_KEY
    metadata = event.materialization.metadata
    assert metadata["customers"].value == CUSTOMERS
    assert metadata["repeat_histogram_misfit_share"].value < 0.1
    params = metadata["bgnbd_params"].value
    assert set(params) == {"r", "alpha", "a", "b"} and all(v > 0 for v in params.values())

    con = duckdb.connect(str(warehouse_copy), read_only=True)
    try:
        rows, bad_alive, segments, clv = _one(
            con,
            "select count(*), count(*) filter (where probability_alive not between 0 and 1), "
            "count(distinct churn_risk_segment), sum(predicted_clv_12_months) "
            "from marts.customer_clv",
        )
        assert rows == CUSTOMERS
        assert bad_alive == 0
        assert segments == 3
        assert float(clv) > 0
        # the model's expected repeat purchases rank customers like their history does
        corr = _one(
            con,
            "select corr(expected_purchases_90_days, repeat_purchases) from marts.customer_clv",
        )[0]
        assert corr > 0.5
    finally:
        con.close()
