"""The serving, report and export assets in Dagster: publish after a good build, refuse (with the
reasons in the UI's metadata) after a bad one, attach pictures to the marts they show."""

from __future__ import annotations

import json

import dagster as dg
import duckdb
import pytest

from orchestration import serving


@pytest.fixture(scope="module")
def assets(dbt_manifest):
    # Imported late: the dbt assets need the manifest the conftest fixture parses first.
    from orchestration.assets import reports as report_assets
    from orchestration.assets import serving as serving_assets

    return serving_assets, report_assets


@pytest.fixture
def env(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    target = tmp_path / "target"
    (target / "clientbase_dbt_assets-abcdef0-1234567").mkdir(parents=True)
    monkeypatch.setenv("CLIENTBASE_DATA_DIR", str(data))
    monkeypatch.delenv("CLIENTBASE_WAREHOUSE", raising=False)
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))
    monkeypatch.setenv("CLIENTBASE_PII_SALT", "salt")
    monkeypatch.delenv("CLIENTBASE_AUDIENCES_FILE", raising=False)
    con = duckdb.connect(str(data / "warehouse.duckdb"))
    con.execute("create schema marts")
    con.execute(
        """
        create table marts.customer_rfm as
        select 'c' || i as customer_id, (i % 5) + 1 as recency_score,
               (i % 3) + 1 as frequency_score,
               cast(10 * i as decimal(18, 2)) as monetary,
               case when i % 4 = 0 then 'champions' else 'at_risk' end as segment,
               case when i % 4 = 0 then 'Champions' else 'At Risk' end as segment_name,
               i % 2 = 0 as is_sleeping
        from range(40) r(i)
        """
    )
    con.execute(
        """
        create table marts.customer_lifecycle as
        select 'c' || i as customer_id, case when i < 10 then 'one_time' else 'regular' end
            as lifecycle_stage from range(40) r(i)
        """
    )
    con.execute(
        """
        create table marts.sendable_audience as
        select 'c' || i as customer_id, ch as channel,
               case when ch = 'email' then 'p' || i || '@example.com'
                    else '+7916' || lpad(cast(i as varchar), 7, '0') end as contact_point,
               10 as send_hour_local, 'Europe/Moscow' as time_zone
        from range(40) r(i), (values ('email'), ('sms')) t(ch)
        """
    )
    con.close()
    return data, target


def write_run_results(target, statuses):
    results = [
        {"unique_id": uid, "status": status, "message": msg} for uid, status, msg in statuses
    ]
    path = target / "clientbase_dbt_assets-abcdef0-1234567" / "run_results.json"
    path.write_text(json.dumps({"results": results}))


def test_good_build_publishes_draws_and_exports(assets, env):
    serving_assets, report_assets = assets
    data, target = env
    write_run_results(target, [("model.clientbase.customer_rfm", "success", "OK")])
    result = dg.materialize(
        [
            serving_assets.serving_catalogue,
            report_assets.nightly_report,
            serving_assets.audience_exports,
        ],
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    published = result.asset_materializations_for_node("serving__clientbase_catalogue")[0].metadata
    assert published["marts"].value == 3
    assert serving.current_build_id(data / "serving") == published["build_id"].value
    # The RFM picture is recorded on the mart it shows.
    observations = result.asset_observations_for_node("serving__nightly_report")
    by_key = {o.asset_key: o for o in observations}
    rfm = by_key[dg.AssetKey(["marts", "customer_rfm"])]
    assert "data:image/png;base64," in rfm.metadata["plot"].value
    assert rfm.metadata["plot_customers"].value == 40
    assert (data / "reports" / "index.html").exists()
    exported = result.asset_materializations_for_node("exports__audiences")[0].metadata
    assert exported["files"].value == 4
    files = sorted(p.name.rsplit("-", 1)[0] for p in (data / "exports").iterdir())
    assert files == ["at-risk-winback-email", "champions-email", "one-time-second-order-email",
                     "sleeping-sms"]  # fmt: skip


def test_failed_blocking_check_stops_publishing_and_says_why(assets, env):
    serving_assets, _ = assets
    data, target = env
    write_run_results(target, [("model.clientbase.customer_rfm", "success", "OK")])
    first = dg.materialize([serving_assets.serving_catalogue])
    good_build = (
        first.asset_materializations_for_node("serving__clientbase_catalogue")[0]
        .metadata["build_id"]
        .value
    )
    write_run_results(
        target,
        [
            ("model.clientbase.customer_rfm", "success", "OK"),
            ("test.clientbase.unique_customer_rfm_customer_id.1", "fail", "Got 3 results"),
        ],
    )
    result = dg.materialize(
        [serving_assets.serving_catalogue, serving_assets.audience_exports], raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    error = failure.step_failure_data.user_failure_data
    assert "blocking check(s) failed" in error.description
    listing = error.metadata["blocking_failures"].value
    assert "test.clientbase.unique_customer_rfm_customer_id.1 fail: Got 3 results" in listing
    assert error.metadata["still_serving_build"].value == good_build
    # BI still sees the good night, and no audience left the building.
    assert serving.current_build_id(data / "serving") == good_build
    assert not (data / "exports").exists()
