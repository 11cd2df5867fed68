"""Audience exports: channel layouts, sendability, campaign exclusions and the filter language
(including hostile filters that try to smuggle SQL in)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from orchestration import exports
from orchestration.exports import AudienceSpec, ExportError, FilterError


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """Small marts shaped like the real ones (ARCHITECTURE.md): five customers."""
    path = tmp_path_factory.mktemp("exports") / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    for schema in ("marts", "staging", "intermediate"):
        con.execute(f"create schema {schema}")
    con.execute(
        """
        create table marts.dim_customers as select * from (values
          ('c1', 'Anna', 'Petrova'), ('c2', 'Ivan', 'Sidorov'), ('c3', 'Olga', null),
          ('c4', 'Petr', 'Ivanov'), ('c5', null, null)
        ) t(customer_id, first_name, last_name)
        """
    )
    con.execute(
        """
        create table marts.customer_rfm as select * from (values
          ('c1', 'champions', 'Champions', 10, 12, 25000.0, false, 'Moscow'),
          ('c2', 'at_risk', 'At Risk', 200, 5, 9000.0, true, 'Kazan'),
          ('c3', 'at_risk', 'At Risk', 250, 3, 4000.0, true, 'Moscow'),
          ('c4', 'lost', 'Lost', 700, 1, 500.0, true, 'Omsk'),
          ('c5', 'new', 'New', 5, 1, 1200.0, false, 'Moscow')
        ) t(customer_id, segment, segment_name, recency_days, frequency, monetary, is_sleeping,
            city)
        """
    )
    con.execute(
        """
        create table marts.customer_lifecycle as select * from (values
          ('c1', 'regular', date '2024-01-05'), ('c2', 'sleeping', date '2023-03-01'),
          ('c3', 'sleeping', date '2022-06-30'), ('c4', 'lost', date '2021-01-01'),
          ('c5', 'one_time', date '2026-10-01')
        ) t(customer_id, lifecycle_stage, first_order_date)
        """
    )
    con.execute(
        """
        create table marts.sendable_audience as select * from (values
          ('c1', 'email', 'anna@example.com', 10, 'Europe/Moscow'),
          ('c2', 'email', 'ivan@example.com', 9, 'Asia/Colombo'),
          ('c3', 'email', 'olga@example.com', 11, 'Europe/Moscow'),
          ('c2', 'sms', '+79161234567', 12, 'Asia/Colombo'),
          ('c4', 'sms', '+79031112233', 18, 'Asia/Omsk'),
          ('c5', 'email', 'x@example.com', 10, 'Europe/Moscow')
        ) t(customer_id, channel, contact_point, send_hour_local, time_zone)
        """
    )
    con.execute(
        """
        create table marts.fct_orders as select * from (values
          ('shop-1', 'c2', 'WINBACK10', false), ('shop-2', 'c3', 'WINBACK10', true),
          ('shop-3', 'c1', null, false)
        ) t(order_id, customer_id, promo_code, is_cancelled)
        """
    )
    con.execute(
        """
        create table staging.stg_messaging__events as select * from (values
          ('m1', 'email', 'olga@example.com', null, null, 'camp-7', 'not_interested'),
          ('m2', 'email', 'anna@example.com', null, null, 'camp-1', 'not_interested')
        ) t(message_event_id, channel, email, phone, telegram_id, campaign_id, event_type)
        """
    )
    con.execute(
        """
        create view intermediate.int_identifiers_resolved as select * from (values
          ('email', 'olga@example.com', 'c3'), ('email', 'anna@example.com', 'c1')
        ) t(identifier_type, identifier_value, customer_id)
        """
    )
    con.close()
    return path


def run(warehouse, tmp_path, **kwargs):
    spec = AudienceSpec(**{"name": "test", "channel": "email", **kwargs})
    result = exports.export_audience(spec, warehouse_path=warehouse, out_dir=tmp_path / "out")
    if spec.file_format == "csv":
        frame = pd.read_csv(result.path, dtype=str, keep_default_na=False)
    else:
        frame = pd.read_parquet(result.path)
    return result, frame


def test_email_segment_export_has_mailchimp_layout(warehouse, tmp_path):
    result, frame = run(warehouse, tmp_path, rfm_segment="At Risk")
    assert list(frame.columns) == [
        "Email Address", "First Name", "Last Name", "Tags", "Send Hour Local", "Time Zone"
    ]  # fmt: skip
    assert frame["Email Address"].tolist() == ["ivan@example.com", "olga@example.com"]
    assert frame["Send Hour Local"].tolist() == ["9", "11"]
    assert frame["Tags"].iloc[0] == "clientbase,rfm:At Risk"
    assert result.rows == 2 and result.path.name.startswith("test-email-")


def test_only_customers_sendable_on_the_channel(warehouse, tmp_path):
    # c4 is "lost" and sendable by SMS only: never in an email export, present in the SMS one.
    _, email = run(warehouse, tmp_path, lifecycle_stage="lost")
    assert email.empty
    _, sms = run(warehouse, tmp_path, channel="sms", lifecycle_stage="lost", file_format="parquet")
    assert list(sms.columns) == ["phone", "name", "send_hour_local", "time_zone"]
    assert sms.to_dict("records") == [
        {"phone": "+79031112233", "name": "Petr Ivanov", "send_hour_local": 18,
         "time_zone": "Asia/Omsk"}
    ]  # fmt: skip


def test_sleeping_and_custom_filter(warehouse, tmp_path):
    _, frame = run(warehouse, tmp_path, sleeping=True)
    assert frame["Email Address"].tolist() == ["ivan@example.com", "olga@example.com"]
    _, frame = run(warehouse, tmp_path, filter="not is_sleeping and city = 'Moscow'")
    assert frame["Email Address"].tolist() == ["anna@example.com", "x@example.com"]
    with pytest.raises(FilterError, match="city holds a 'quoted text', not True"):
        run(warehouse, tmp_path, filter="city")
    _, frame = run(
        warehouse, tmp_path,
        filter="(monetary >= 5000 and city in ('Moscow', 'Kazan')) or lifecycle_stage = 'one_time'",
    )  # fmt: skip
    assert frame["Email Address"].tolist() == [
        "anna@example.com", "ivan@example.com", "x@example.com"
    ]  # fmt: skip
    _, frame = run(
        warehouse, tmp_path, filter="first_order_date < '2023-01-01' and not frequency > 3"
    )
    assert frame["Email Address"].tolist() == ["olga@example.com"]


def test_multi_step_campaign_exclusions(warehouse, tmp_path):
    result, frame = run(warehouse, tmp_path, rfm_segment="at_risk", promo_code="winback10")
    # c2 redeemed WINBACK10; c3's order with it was cancelled, so c3 stays in.
    assert frame["Email Address"].tolist() == ["olga@example.com"]
    assert result.excluded == {"used_promo_code": 1}
    result, frame = run(warehouse, tmp_path, rfm_segment="at risk", campaign_id="camp-7")
    # c3 answered "not interested" to camp-7; c1's answer to another campaign doesn't matter.
    assert frame["Email Address"].tolist() == ["ivan@example.com"]
    assert result.excluded == {"not_interested": 1}


@pytest.mark.parametrize(
    "hostile",
    [
        "city = 'Moscow'; drop table marts.customer_rfm",
        "city = 'Moscow' or 1=1",
        "city = 'Moscow' --",
        "city = 'x' union select email from marts.sendable_audience",
        "city = 'Mos' || 'cow'",
        "\"city\" = 'Moscow'",
        'city = "Moscow"',
        "customer_id = customer_id",
        "contact_point like '%@%'",
        "email is not null",
        "first_name = 'Anna'",
        "read_csv('/etc/passwd') is not null",
        "city = (select 'Moscow')",
        "city = 'Moscow' /* comment */",
        "city in ()",
        "monetary > 1e9999",
        "city = 'unterminated",
        "city\x00 = 'Moscow'",
        "(" * 200 + "city = 'Moscow'" + ")" * 200,
        " and ".join(["frequency > 1"] * 60),
        "x" * 3000,
        "",
    ],
)
def test_hostile_filters_are_rejected(warehouse, tmp_path, hostile):
    with pytest.raises(FilterError):
        run(warehouse, tmp_path, filter=hostile)
    # ...and nothing was touched.
    con = duckdb.connect(str(warehouse), read_only=True)
    assert con.execute("select count(*) from marts.customer_rfm").fetchone() == (5,)
    con.close()


def test_quotes_inside_values_are_data_not_sql(warehouse, tmp_path):
    # A value that looks like an injection is just a city nobody lives in.
    _, frame = run(warehouse, tmp_path, filter="city = 'x'' or ''1''=''1'")
    assert frame.empty
    expression, params = exports.compile_filter("city = 'x'' or ''1''=''1'", {"city": "VARCHAR"})
    assert expression == '("city" = ?)' and params == ["x' or '1'='1"]


def test_type_mismatches_get_clear_messages(warehouse, tmp_path):
    with pytest.raises(FilterError, match="monetary holds a number"):
        run(warehouse, tmp_path, filter="monetary > 'lots'")
    with pytest.raises(FilterError, match="unknown column 'email'"):
        run(warehouse, tmp_path, filter="email = 'anna@example.com'")
    with pytest.raises(FilterError, match="not a date"):
        run(warehouse, tmp_path, filter="first_order_date > 'yesterday'")


def test_bad_specs_are_refused(warehouse, tmp_path):
    with pytest.raises(ExportError, match="channel"):
        run(warehouse, tmp_path, channel="fax")
    with pytest.raises(ExportError, match="audience name"):
        run(warehouse, tmp_path, name="../../etc/cron.d/x")


def test_cli(warehouse, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CLIENTBASE_WAREHOUSE", str(warehouse))
    code = exports.main(
        ["--name", "cli", "--channel", "email", "--segment", "champions",
         "--out-dir", str(tmp_path / "cli")]
    )  # fmt: skip
    assert code == 0
    assert "1 contacts" in capsys.readouterr().out
    assert exports.main(["--name", "cli", "--channel", "email", "--filter", "1=1"]) == 2
    assert "cannot read the filter" in capsys.readouterr().err


def test_wide_contact_hygiene_works_where_sendable_audience_is_absent(warehouse, tmp_path):
    """hygiene's contact_hygiene (one row per customer, is_sendable_<channel> flags) is enough."""
    import shutil

    wide = tmp_path / "wide.duckdb"
    shutil.copy(warehouse, wide)
    con = duckdb.connect(str(wide))
    con.execute("drop table marts.sendable_audience")
    con.execute(
        """
        create table marts.contact_hygiene as select * from (values
          ('c1', 'anna@example.com', '+74951283020', true, false, 'Europe/Moscow', 10),
          ('c2', 'ivan@example.com', '+79161234567', false, true, 'Asia/Colombo', 9),
          ('c3', null, null, true, false, 'Europe/Moscow', 11)
        ) t(customer_id, email, phone, is_sendable_email, is_sendable_sms, current_time_zone,
            best_send_hour_local)
        """
    )
    con.close()
    spec = AudienceSpec(name="wide", channel="email")
    result = exports.export_audience(spec, warehouse_path=wide, out_dir=tmp_path / "out")
    frame = pd.read_csv(result.path, dtype=str, keep_default_na=False)
    # c2 is not sendable by email; c3 has the flag but no address.
    assert frame[["Email Address", "Send Hour Local", "Time Zone"]].values.tolist() == [
        ["anna@example.com", "10", "Europe/Moscow"]
    ]
    spec = AudienceSpec(name="wide", channel="sms", rfm_segment="at risk")
    result = exports.export_audience(spec, warehouse_path=wide, out_dir=tmp_path / "out")
    assert pd.read_csv(result.path, dtype=str)["phone"].tolist() == ["+79161234567"]
