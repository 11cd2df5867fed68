"""Publishing: PII-safe schema, the blocking-check gate, salt handling, garbage collection."""

from __future__ import annotations

import hashlib
import os
import stat

import duckdb
import pytest

from orchestration import serving


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute(
        """
        create table marts.dim_customers as
        select * from (values
            ('c1', 'anna@example.com', '+74951283020', 'Anna', 'Petrova', date '1990-01-02', 'x'),
            ('c2', null, '+79161234567', 'Ivan', null, null, 'y')
        ) t(customer_id, email, phone, first_name, last_name, birth_date, segment)
        """
    )
    # A column whose name says nothing but whose values are emails must be hashed all the same.
    con.execute(
        "create table marts.sendable_audience as select * from (values "
        "('c1', 'email', 'anna@example.com', 10), ('c2', 'sms', '+79161234567', 11)) "
        "t(customer_id, channel, contact_point, send_hour_local)"
    )
    con.execute("create schema staging")
    con.execute("create table staging.not_a_mart as select 1 as x")
    con.close()
    return path


def _read(serving_dir, sql):
    con = duckdb.connect(str(serving_dir / serving.CATALOGUE_NAME), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_bi_schema_hashes_contact_points_and_drops_names(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("CLIENTBASE_PII_SALT", "pepper")
    monkeypatch.delenv("CLIENTBASE_SERVE_PII", raising=False)
    serving_dir = tmp_path / "serving"
    result = serving.publish(warehouse_path=warehouse, serving_dir=serving_dir)

    assert {m.name for m in result.marts} == {"dim_customers", "sendable_audience"}
    columns = [
        r[0]
        for r in _read(
            serving_dir,
            "select column_name from information_schema.columns "
            "where table_schema = 'bi' and table_name = 'dim_customers' order by ordinal_position",
        )
    ]
    assert columns == ["customer_id", "email", "phone", "segment"]
    rows = _read(serving_dir, "select customer_id, email, phone from bi.dim_customers order by 1")
    expected = hashlib.sha256(b"pepper" + b"anna@example.com").hexdigest()
    assert rows[0] == ("c1", expected, hashlib.sha256(b"pepper+74951283020").hexdigest())
    assert rows[1][1] is None  # nulls stay null rather than hashing to a shared value
    sniffed = _read(serving_dir, "select contact_point from bi.sendable_audience order by 1")
    assert all(len(v) == 64 and "@" not in v and "+" not in v for (v,) in sniffed)
    # Without CLIENTBASE_SERVE_PII there is no full-PII schema and no full-PII file on disk.
    schemas = {
        r[0] for r in _read(serving_dir, "select schema_name from information_schema.schemata")
    }
    assert "marts" not in schemas
    assert not (result.snapshot_dir / "marts").exists()
    text = b"".join(p.read_bytes() for p in result.snapshot_dir.rglob("*.parquet"))
    assert b"anna@example.com" not in text and b"Petrova" not in text


def test_full_pii_schema_only_when_configured(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("CLIENTBASE_PII_SALT", "pepper")
    monkeypatch.setenv("CLIENTBASE_SERVE_PII", "true")
    serving_dir = tmp_path / "serving"
    serving.publish(warehouse_path=warehouse, serving_dir=serving_dir)
    assert _read(serving_dir, "select email from marts.dim_customers where customer_id = 'c1'") == [
        ("anna@example.com",)
    ]
    assert _read(serving_dir, "select pii_served from bi.build_info") == [(True,)]


def test_salt_is_generated_once_and_kept_private(warehouse, tmp_path, monkeypatch, caplog):
    monkeypatch.delenv("CLIENTBASE_PII_SALT", raising=False)
    serving_dir = tmp_path / "serving"
    serving.publish(warehouse_path=warehouse, serving_dir=serving_dir)
    salt_file = serving_dir / ".salt"
    assert "CLIENTBASE_PII_SALT is not set" in caplog.text
    assert stat.S_IMODE(os.stat(salt_file).st_mode) == 0o600
    first = _read(serving_dir, "select email from bi.dim_customers where customer_id = 'c1'")
    serving.publish(warehouse_path=warehouse, serving_dir=serving_dir)
    # Same salt next night: hashed ids stay joinable across nights.
    assert (
        _read(serving_dir, "select email from bi.dim_customers where customer_id = 'c1'") == first
    )
    salt = salt_file.read_text().strip()
    assert len(salt) == 64
    assert first[0][0] == hashlib.sha256((salt + "anna@example.com").encode()).hexdigest()


def test_refuses_when_blocking_checks_failed(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("CLIENTBASE_PII_SALT", "pepper")
    serving_dir = tmp_path / "serving"
    good = serving.publish(warehouse_path=warehouse, serving_dir=serving_dir)
    run_results = tmp_path / "run_results.json"
    run_results.write_text("{}")
    with pytest.raises(serving.PublishRefused) as refused:
        serving.publish(
            warehouse_path=warehouse,
            serving_dir=serving_dir,
            run_results_path=run_results,
            gate=lambda path: ["test.not_null_dim_customers_customer_id (error): 3 failures"],
        )
    assert refused.value.reasons == ["test.not_null_dim_customers_customer_id (error): 3 failures"]
    assert good.build_id in str(refused.value)
    # Readers still get the last good night, and nothing half-written was left behind.
    assert serving.current_build_id(serving_dir) == good.build_id
    assert [p.name for p in (serving_dir / "snapshots").iterdir()] == [good.build_id]
    passed = serving.publish(
        warehouse_path=warehouse,
        serving_dir=serving_dir,
        run_results_path=run_results,
        gate=lambda path: [],
    )
    assert serving.current_build_id(serving_dir) == passed.build_id


def test_failed_publish_leaves_current_night_untouched(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("CLIENTBASE_PII_SALT", "pepper")
    serving_dir = tmp_path / "serving"
    good = serving.publish(warehouse_path=warehouse, serving_dir=serving_dir)
    with pytest.raises(duckdb.Error):
        serving.publish(warehouse_path=warehouse, serving_dir=serving_dir, marts=["missing"])
    assert serving.current_build_id(serving_dir) == good.build_id
    assert not list((serving_dir / "snapshots").glob("*.tmp"))
    assert _read(serving_dir, "select count(*) from bi.dim_customers") == [(2,)]


def test_garbage_collection_keeps_newest_and_current(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("CLIENTBASE_PII_SALT", "pepper")
    serving_dir = tmp_path / "serving"
    ids = [serving.publish(warehouse_path=warehouse, serving_dir=serving_dir, keep=2).build_id]
    ids += [
        serving.publish(warehouse_path=warehouse, serving_dir=serving_dir, keep=2).build_id
        for _ in range(3)
    ]
    assert sorted(p.name for p in (serving_dir / "snapshots").iterdir()) == sorted(ids[-2:])
    # Leftovers of a publish killed half way are cleaned up by the next run.
    (serving_dir / "snapshots" / "20200101T000000000000Z-abcdef.tmp").mkdir()
    (serving_dir / "snapshots" / "20200101T000000000000Z-fedcba" / "bi").mkdir(parents=True)
    removed = serving.collect_garbage(serving_dir, keep=2)
    assert removed == ["20200101T000000000000Z-fedcba"]
    assert sorted(p.name for p in (serving_dir / "snapshots").iterdir()) == sorted(ids[-2:])
    link = serving_dir / serving.CATALOGUE_NAME
    assert link.resolve() == serving_dir / "snapshots" / ids[-1] / "clientbase.duckdb"


def test_database_name_is_stable_across_nights(warehouse, tmp_path, monkeypatch):
    """DuckDB names the database after the file: BI tools must see 'clientbase' every night."""
    monkeypatch.setenv("CLIENTBASE_PII_SALT", "pepper")
    serving_dir = tmp_path / "serving"
    names = set()
    for _ in range(2):
        serving.publish(warehouse_path=warehouse, serving_dir=serving_dir)
        names |= {r[0] for r in _read(serving_dir, "select current_database()")}
    assert names == {"clientbase"}


def test_regular_file_in_place_of_the_symlink_is_not_overwritten(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("CLIENTBASE_PII_SALT", "pepper")
    serving_dir = tmp_path / "serving"
    serving_dir.mkdir()
    (serving_dir / serving.CATALOGUE_NAME).write_bytes(b"somebody's file")
    with pytest.raises(serving.PublishRefused, match="not the symlink"):
        serving.publish(warehouse_path=warehouse, serving_dir=serving_dir)
    assert (serving_dir / serving.CATALOGUE_NAME).read_bytes() == b"somebody's file"


@pytest.mark.parametrize(
    ("column", "action"),
    [
        ("email", "hash"),
        ("phone_raw", "hash"),
        ("identifier_value_b", "hash"),
        ("anchor_identifier", "hash"),
        ("cause_identifier_a", "hash"),
        ("contact_point_id", "hash"),
        ("loyalty_card_number", "hash"),
        ("first_name_latin", "drop"),
        ("birth_date", "drop"),
        ("identifiers_moved", None),
        ("identifier_type_a", None),
        ("email_source", None),
        ("has_email_consent", None),
        # a flag about an address is not the address: hashing it made BI unable to filter on it
        ("is_sendable_email", None),
        ("is_phone_valid", None),
        ("segment_name", None),
        ("store_name", None),
    ],
)
def test_pii_rules_by_column_name(column, action):
    assert serving.pii_action(column) == action
