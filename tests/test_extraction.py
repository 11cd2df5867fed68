"""Extraction: validation and quarantine, row conservation, idempotence, the landing sensor."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest

from orchestration.extraction import (
    ExtractionError,
    get_table,
    load_system,
    load_table,
    quarantine_partition_file,
    raw_partition_file,
)
from orchestration.extraction import loader as loader_module
from orchestration.extraction.schemas import LINEAGE_COLUMNS, QUARANTINE_COLUMNS, TABLES

LOADED_AT = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
CONTACTS = get_table("crm", "contacts")
RECEIPTS = get_table("pos", "receipts")
RECEIPT_LINES = get_table("pos", "receipt_lines")
WEB = get_table("web", "events")
ORDERS = get_table("shop", "orders")


def _csv(values: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(values)
    return buf.getvalue()


def _contact(contact_id: str, **overrides: str) -> str:
    row = dict.fromkeys(CONTACTS.column_names, "")
    row.update(
        contact_id=contact_id,
        first_name="Анна",
        email="anna@example.ru",
        birth_date="1990-01-02",
        gender="female",
        lead_source="quiz",
        consent_email="true",
        consent_email_at="2024-11-01T10:00:00Z",
        created_at="2024-11-01T10:00:00Z",
        updated_at="2024-11-01T10:00:00.250Z",
    )
    row.update(overrides)
    return _csv(list(row.values()))


def _receipt(receipt_id: str, **overrides: str) -> str:
    row = dict.fromkeys(RECEIPTS.column_names, "")
    row.update(
        receipt_id=receipt_id,
        store_id="S01",
        receipt_type="sale",
        total_amount="100.50",
        discount_amount="0",
        payment_method="card",
        created_at_local="01.11.2024 10:00:00",
    )
    row.update(overrides)
    return _csv(list(row.values()))


def _event(event_id: str, **overrides) -> str:
    row = {
        "event_id": event_id,
        "event_type": "page_view",
        "occurred_at": "2024-11-01T00:00:01Z",
        "anonymous_id": "anon-1",
        "user_id": None,
        "page_url": "https://shop.example/",
    }
    row.update(overrides)
    return json.dumps(row, ensure_ascii=False)


# (file, line) → reason every planted defect must be quarantined with.
EXPECTED_QUARANTINE = {
    ("crm/2024-11-01/contacts.csv", 4): "bad_date:birth_date",
    ("crm/2024-11-01/contacts.csv", 5): "missing_required:contact_id",
    ("crm/2024-11-01/contacts.csv", 6): "bad_enum:gender",
    ("crm/2024-11-01/contacts.csv", 7): "wrong_column_count",
    ("crm/2024-11-01/contacts.csv", 8): "bad_timestamp:updated_at",
    ("crm/2024-11-01/contacts.csv", 9): "invalid_utf8",
    ("crm/2024-11-01/contacts.csv", 10): "bad_timestamp:created_at",
    ("crm/2024-11-01/contacts.csv", 11): "malformed_csv_quoting",
    ("pos/2024-11-02/receipts.csv", 3): "negative_amount:total_amount",
    ("pos/2024-11-02/receipts.csv", 4): "not_a_number:total_amount",
    ("pos/2024-11-02/receipts.csv", 5): "bad_timestamp:created_at_local",
    ("pos/2024-11-02/receipts.csv", 6): "bad_enum:payment_method",
    ("pos/2024-11-02/receipts.csv", 7): "wrong_column_count",
    ("pos/2024-11-02/receipt_lines.csv", 2): "non_positive_quantity:quantity",
    ("web/2024-11-01/events.jsonl", 2): "bad_enum:event_type",
    ("web/2024-11-01/events.jsonl", 3): "missing_required:anonymous_id",
    ("web/2024-11-01/events.jsonl", 4): "invalid_json",
    ("web/2024-11-01/events.jsonl", 5): "not_a_json_object",
    ("web/2024-11-01/events.jsonl", 6): "blank_line",
    ("web/2024-11-01/events.jsonl", 7): "bad_timestamp:occurred_at",
    ("web/2024-11-01/events.jsonl", 8): "invalid_utf8",
    ("shop/2024-11-01/orders.jsonl", 2): "negative_amount:total_amount",
    ("shop/2024-11-01/orders.jsonl", 3): "not_a_number:total_amount",
}
DAYS = ["2024-11-01", "2024-11-02", "2024-11-03"]


def write_landing(root: Path) -> Path:
    """A tiny landing folder with every defect kind, a CRLF file, a quoted field with a comma
    and a quote, a file without a final newline, and days with no folder at all."""
    landing = root / "landing"
    header = ",".join(CONTACTS.column_names)
    day1 = landing / "crm" / "2024-11-01"
    day1.mkdir(parents=True)
    lines = [
        header,
        _contact("c1"),
        _contact("c2", first_name='O"Brien, Jr'),
        _contact("c3", birth_date="1990-13-45"),
        _contact(""),
        _contact("c5", gender="unknown"),
        "c6,too,few",
        _contact("c7", updated_at="2024/11/01 10:00"),
    ]
    body = ("\n".join(lines) + "\n").encode()
    body += _contact("c8", first_name="XBADX").encode().replace(b"XBADX", b"\xcf\xf0\xe8") + b"\n"
    body += _contact("c9", created_at="2024-02-30T12:00:00Z").encode() + b"\n"
    body += b'c10,"unterminated,' + b"x," * 24 + b"\n"
    body += _contact("c11").encode()  # no final newline
    (day1 / "contacts.csv").write_bytes(body)
    day3 = landing / "crm" / "2024-11-03"
    day3.mkdir(parents=True)
    (day3 / "contacts.csv").write_bytes((header + "\r\n" + _contact("c12") + "\r\n").encode())

    pos = landing / "pos" / "2024-11-02"
    pos.mkdir(parents=True)
    receipts = [
        ",".join(RECEIPTS.column_names),
        _receipt("r1"),
        _receipt("r2", total_amount="-5.00"),
        _receipt("r3", total_amount="12,50"),
        _receipt("r4", created_at_local="2024-11-01 10:00:00"),
        _receipt("r5", payment_method="bitcoin"),
        _receipt("r6") + ",extra",
        _receipt("r7", receipt_type="return", original_receipt_id="r1"),
    ]
    (pos / "receipts.csv").write_text("\n".join(receipts) + "\n", encoding="utf-8")
    (pos / "receipt_lines.csv").write_text(
        ",".join(RECEIPT_LINES.column_names) + "\nr1,1,p1,0,10,0,10\nr1,2,p1,1.5,10,,15\n",
        encoding="utf-8",
    )

    web = landing / "web" / "2024-11-01"
    web.mkdir(parents=True)
    events = [
        _event("e1", interests=["a", "b"]),
        _event("e2", event_type="teleport"),
        _event("e3", anonymous_id=""),
        '{"event_id": "e4", "event_type": "pa',
        "[1, 2]",
        "",
        _event("e7", occurred_at="2024-11-01 00:00:01"),
    ]
    body = ("\n".join(events) + "\n").encode()
    body += _event("e8", page_url="XBADX").encode().replace(b"XBADX", b"\xff\xfe") + b"\n"
    (web / "events.jsonl").write_bytes(body)

    shop = landing / "shop" / "2024-11-01"
    shop.mkdir(parents=True)
    stamps = {"created_at": "2024-11-01T09:00:00Z", "updated_at": "2024-11-01T09:00:00Z"}
    orders = [
        {"order_id": "o1", **stamps, "status": "completed", "channel": "web", "currency": "RUB",
         "total_amount": 1999.9},
        {"order_id": "o2", **stamps, "status": "completed", "total_amount": -10},
        {"order_id": "o3", **stamps, "total_amount": "free"},
    ]  # fmt: skip
    (shop / "orders.jsonl").write_text("\n".join(json.dumps(o) for o in orders) + "\n")
    (landing / "shop" / "2024-11-02").mkdir(parents=True)  # a day folder without files

    ref = landing / "reference"
    ref.mkdir(parents=True)
    (ref / "stores.csv").write_text(
        "store_id,store_name,city,country_code,time_zone,phone,opened_at\n"
        "S01,Main,Moscow,RU,Europe/Moscow,+74950000000,2020-01-01\n"
        ",Nameless,Kazan,RU,Europe/Moscow,,2021-01-01\n",
        encoding="utf-8",
    )
    (landing / "_truth").mkdir()  # must be ignored
    return landing


def _read(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def _quarantine_rows(raw: Path, columns: str) -> list[tuple]:
    files = [str(p) for p in (raw / "_quarantine").rglob("*.parquet")]
    return duckdb.sql(
        f"select {columns} from read_parquet($files, union_by_name=true)",
        params={"files": files},
    ).fetchall()


def _quarantined(raw: Path) -> dict[tuple[str, int], str]:
    rows = _quarantine_rows(raw, "source_file, source_line, reason")
    return {(f, line): reason for f, line, reason in rows}


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    return write_landing(tmp_path)


@pytest.fixture
def loaded(landing: Path, tmp_path: Path) -> tuple[Path, dict]:
    raw = tmp_path / "raw"
    results = {}
    for system in ("crm", "pos", "web", "shop"):
        for table, result in load_system(system, landing, raw, DAYS, loaded_at=LOADED_AT).items():
            results[f"{system}__{table}"] = result
    results["reference__stores"] = load_table("reference", "stores", landing, raw)
    return raw, results


def test_every_defect_is_quarantined_with_its_reason(loaded):
    raw, _ = loaded
    assert _quarantined(raw) == {
        **EXPECTED_QUARANTINE,
        ("reference/stores.csv", 3): "missing_required:store_id",
    }


def test_rows_are_conserved_per_table_and_on_disk(loaded, landing):
    raw, results = loaded
    crm = results["crm__contacts"]
    # 11 data lines on day 1 (header excluded, last line unterminated) + 1 on day 3
    assert crm.rows_read == 12
    assert crm.rows_loaded == 4  # c1, c2, c11, c12
    assert crm.rows_quarantined == 8
    for result in results.values():
        assert result.rows_read == result.rows_loaded + result.rows_quarantined
        assert sum(result.quarantine_reasons.values()) == result.rows_quarantined
    assert results["crm__contacts"].quarantine_reasons["wrong_column_count"] == 1
    assert results["pos__receipts"].rows_loaded == 2
    # what is on disk agrees with the counts
    on_disk = sum(pq.read_metadata(raw_partition_file(raw, CONTACTS, d)).num_rows for d in DAYS)
    assert on_disk == crm.rows_loaded


def test_loaded_rows_keep_text_values_and_lineage(loaded):
    raw, _ = loaded
    rows = _read(raw_partition_file(raw, CONTACTS, "2024-11-01"))
    by_id = {r["contact_id"]: r for r in rows}
    assert set(by_id) == {"c1", "c2", "c11"}
    assert by_id["c2"]["first_name"] == 'O"Brien, Jr'  # RFC 4180 quoting undone
    assert by_id["c1"]["first_name"] == "Анна"
    assert by_id["c1"]["phone"] is None  # empty CSV field → NULL
    assert by_id["c1"]["_source_file"] == "crm/2024-11-01/contacts.csv"
    assert by_id["c1"]["_source_line"] == 2
    assert by_id["c11"]["_source_line"] == 12
    assert by_id["c1"]["_loaded_at"] == LOADED_AT
    crlf = _read(raw_partition_file(raw, CONTACTS, "2024-11-03"))
    assert [r["updated_at"] for r in crlf] == ["2024-11-01T10:00:00.250Z"]  # no stray \r

    events = _read(raw_partition_file(raw, WEB, "2024-11-01"))
    assert [e["event_id"] for e in events] == ["e1"]
    orders = _read(raw_partition_file(raw, ORDERS, "2024-11-01"))
    assert orders[0]["total_amount"] == "1999.9"  # JSON number as text
    lines = _read(raw_partition_file(raw, RECEIPT_LINES, "2024-11-02"))
    assert [(r["quantity"], r["discount_amount"]) for r in lines] == [("1.5", None)]


def test_invalid_utf8_is_kept_visible_in_the_quarantine(loaded):
    raw, _ = loaded
    rows = _read(quarantine_partition_file(raw, CONTACTS, "2024-11-01"))
    bad = next(r for r in rows if r["reason"] == "invalid_utf8")
    assert "\\xcf\\xf0\\xe8" in bad["raw_text"]
    assert bad["system"] == "crm" and bad["table"] == "contacts"
    assert list(rows[0]) == [*QUARANTINE_COLUMNS]


def test_every_day_gets_files_with_the_full_schema(loaded):
    raw, results = loaded
    for system, table in (("crm", "contacts"), ("shop", "orders"), ("shop", "order_lines")):
        schema = get_table(system, table)
        for day in DAYS:
            path = raw_partition_file(raw, schema, day)
            assert path.is_file(), path
            assert pq.read_schema(path).names == [*schema.column_names, *LINEAGE_COLUMNS]
    # quarantine files only where something was rejected
    assert pq.read_schema(quarantine_partition_file(raw, CONTACTS, DAYS[0])).names == [
        *QUARANTINE_COLUMNS
    ]
    assert not quarantine_partition_file(raw, CONTACTS, "2024-11-03").exists()
    assert pq.read_metadata(raw_partition_file(raw, CONTACTS, "2024-11-02")).num_rows == 0
    assert results["shop__order_lines"].files == []
    assert not list(raw.rglob("*.tmp")), "temporary files left behind"


def test_reloading_a_partition_replaces_it(landing, tmp_path):
    raw = tmp_path / "raw"
    first = load_table("crm", "contacts", landing, raw, DAYS, loaded_at=LOADED_AT)
    before = {d: _read(raw_partition_file(raw, CONTACTS, d)) for d in DAYS}
    q_before = _read(quarantine_partition_file(raw, CONTACTS, "2024-11-01"))
    second = load_table("crm", "contacts", landing, raw, ["2024-11-01"], loaded_at=LOADED_AT)
    assert second.rows_loaded == first.rows_by_partition["2024-11-01"]
    assert {d: _read(raw_partition_file(raw, CONTACTS, d)) for d in DAYS} == before
    assert _read(quarantine_partition_file(raw, CONTACTS, "2024-11-01")) == q_before
    assert len(list((raw / "crm" / "contacts").rglob("*.parquet"))) == len(DAYS)

    # a corrected export replaces the partition, it does not add to it, and the quarantine
    # of the bad export goes away
    (landing / "crm" / "2024-11-01" / "contacts.csv").write_text(
        ",".join(CONTACTS.column_names) + "\n" + _contact("c12") + "\n" + _contact("c13") + "\n"
    )
    load_table("crm", "contacts", landing, raw, ["2024-11-01"], loaded_at=LOADED_AT)
    assert [r["contact_id"] for r in _read(raw_partition_file(raw, CONTACTS, "2024-11-01"))] == [
        "c12",
        "c13",
    ]
    assert not quarantine_partition_file(raw, CONTACTS, "2024-11-01").exists()


def test_broken_conservation_fails_and_replaces_nothing(landing, tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    load_table("crm", "contacts", landing, raw, DAYS, loaded_at=LOADED_AT)
    before = _read(raw_partition_file(raw, CONTACTS, "2024-11-01"))
    real = loader_module._classify_sql

    def losing_a_row(schema):  # a bug that silently drops line 3 of every file
        return f"select * from ({real(schema)}) where line_no <> 3"

    monkeypatch.setattr(loader_module, "_classify_sql", losing_a_row)
    with pytest.raises(ExtractionError, match="row conservation broken"):
        load_table("crm", "contacts", landing, raw, DAYS, loaded_at=datetime.now(UTC))
    assert _read(raw_partition_file(raw, CONTACTS, "2024-11-01")) == before
    assert not list(raw.rglob("*.tmp"))


def test_header_mismatch_quarantines_the_whole_file(tmp_path):
    landing = tmp_path / "landing"
    day = landing / "crm" / "2024-11-01"
    day.mkdir(parents=True)
    swapped = CONTACTS.column_names[:]
    swapped[1], swapped[2] = swapped[2], swapped[1]
    (day / "contacts.csv").write_text(",".join(swapped) + "\n" + _contact("c1") + "\n")
    result = load_table("crm", "contacts", landing, tmp_path / "raw", ["2024-11-01"])
    assert result.quarantine_reasons == {"header_mismatch": 1}


def test_one_query_per_batch_covers_many_days(landing, tmp_path, monkeypatch):
    calls = []
    real = loader_module._load_batch

    def counting(con, schema, landing_dir, raw_dir, days, loaded_at):
        calls.append(days)
        return real(con, schema, landing_dir, raw_dir, days, loaded_at)

    monkeypatch.setattr(loader_module, "_load_batch", counting)
    load_table("crm", "contacts", landing, tmp_path / "raw", DAYS)
    assert calls == [DAYS]
    calls.clear()
    load_table("crm", "contacts", landing, tmp_path / "raw", DAYS, batch_bytes=1)
    assert len(calls) == 3  # tiny batches: one day each, same result files
    assert pq.read_metadata(raw_partition_file(tmp_path / "raw", CONTACTS, DAYS[0])).num_rows == 3


def test_schema_registry_is_consistent():
    keys = [t.key for t in TABLES]
    assert len(keys) == len(set(keys)) == 11
    for table in TABLES:
        assert table.required_columns, table.key
        assert len(set(table.column_names)) == len(table.column_names)
        assert not [c for c in table.columns if c.kind == "enum" and not c.values]


# --------------------------------------------------------------------------- Dagster side


def test_extraction_asset_materialises_with_metadata_and_checks(landing, tmp_path):
    from orchestration.assets.extraction import build_extraction_asset, raw_asset_key
    from orchestration.resources import ExtractionResource

    raw = tmp_path / "raw"
    asset = build_extraction_asset("crm")
    resource = ExtractionResource(landing_dir=str(landing), raw_dir=str(raw))
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [asset],
        resources={"extraction": resource},
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": DAYS[0],
            "dagster/asset_partition_range_end": DAYS[-1],
        },
    )
    assert result.success
    mats = result.asset_materializations_for_node("extract_crm")
    assert {m.partition for m in mats} == set(DAYS)  # one run for the whole range
    meta = mats[0].metadata
    assert meta["rows_read"].value == 12
    assert meta["rows_loaded"].value == 4
    assert meta["rows_quarantined"].value == 8
    assert meta["quarantine_reasons"].value["invalid_utf8"] == 1
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["row_conservation"].passed
    assert checks["row_conservation"].asset_key == raw_asset_key("crm", "contacts")
    assert not checks["quarantine_share"].passed  # 8 of 12 rows: far above 2 %
    assert checks["quarantine_share"].severity == dg.AssetCheckSeverity.WARN


def test_row_conservation_check_fails_when_disk_disagrees(landing, tmp_path):
    from orchestration.assets.extraction import raw_asset_key
    from orchestration.checks.extraction import row_conservation

    raw = tmp_path / "raw"
    result = load_table("crm", "contacts", landing, raw, DAYS)
    key = raw_asset_key("crm", "contacts")
    assert row_conservation(key, CONTACTS, result, landing, raw).passed
    # somebody appends to the landing file after the load: the check notices
    with open(landing / "crm" / "2024-11-03" / "contacts.csv", "a") as fh:
        fh.write(_contact("late") + "\n")
    failed = row_conservation(key, CONTACTS, result, landing, raw)
    assert not failed.passed
    assert "2024-11-03" in failed.metadata["problems"].value[0]
    raw_partition_file(raw, CONTACTS, "2024-11-02").unlink()
    assert (
        len(row_conservation(key, CONTACTS, result, landing, raw).metadata["problems"].value) == 2
    )


def test_sensor_run_keys_are_deterministic_and_scoped(landing, monkeypatch):
    from orchestration import sensors
    from orchestration.assets.extraction import raw_asset_key

    monkeypatch.setenv("CLIENTBASE_LANDING_DIR", str(landing))
    monkeypatch.setattr(sensors, "SETTLE_SECONDS", 10)
    old = time.time_ns() - 100_000_000_000  # every file landed 100 s ago (settled)
    for path in landing.rglob("*"):
        os.utime(path, ns=(old, old))
    valid = {"2024-11-01", "2024-11-02", "2024-11-03"}
    files = sensors.scan_landing(landing)
    assert all(not f.rel_path.startswith("_truth") for f in files)
    first, skipped = sensors.plan_runs(files, valid)
    second, _ = sensors.plan_runs(sensors.scan_landing(landing), valid)
    assert skipped == []
    assert [r.run_key for r in first] == [r.run_key for r in second]
    by_system = {r.tags["system"]: r for r in first}
    assert set(by_system) == {"crm", "pos", "reference", "shop", "web"}
    # crm has days 1 and 3 (not contiguous): two runs; one day → a plain partition key
    crm_runs = [r for r in first if r.tags["system"] == "crm"]
    assert sorted(r.partition_key for r in crm_runs) == ["2024-11-01", "2024-11-03"]
    assert set(by_system["pos"].asset_selection) == {
        raw_asset_key("pos", "receipts"),
        raw_asset_key("pos", "receipt_lines"),
    }

    # the sensor itself: first tick requests everything, second tick nothing, a touched file
    # only its system and day, under a new key
    instance = dg.DagsterInstance.ephemeral()
    ctx = dg.build_sensor_context(instance=instance)
    tick = sensors.landing_sensor(ctx)
    assert sorted(r.run_key for r in tick.run_requests) == sorted(r.run_key for r in first)
    ctx2 = dg.build_sensor_context(instance=instance, cursor=tick.cursor)
    assert isinstance(sensors.landing_sensor(ctx2), dg.SkipReason)
    target = landing / "pos" / "2024-11-02" / "receipts.csv"
    os.utime(target, ns=(old + 50_000_000_000, old + 50_000_000_000))  # re-exported 50 s ago
    ctx3 = dg.build_sensor_context(instance=instance, cursor=tick.cursor)
    tick3 = sensors.landing_sensor(ctx3)
    third = tick3.run_requests
    assert [(r.tags["system"], r.partition_key) for r in third] == [("pos", "2024-11-02")]
    assert third[0].run_key not in {r.run_key for r in first}

    # a day folder copied in with its old mtime preserved (cp -p) is still a new day
    copied = landing / "crm" / "2024-11-02" / "contacts.csv"
    copied.parent.mkdir()
    copied.write_text(",".join(CONTACTS.column_names) + "\n" + _contact("c20") + "\n")
    os.utime(copied, ns=(old, old))
    ctx4 = dg.build_sensor_context(instance=instance, cursor=tick3.cursor)
    fourth = sensors.landing_sensor(ctx4)
    assert [(r.tags["system"], r.partition_key) for r in fourth.run_requests] == [
        ("crm", "2024-11-02")
    ]
    # and the cursor stays small: one range per system file
    assert json.loads(fourth.cursor)["known"]["crm/contacts.csv"] == [["2024-11-01", "2024-11-03"]]
    ctx5 = dg.build_sensor_context(instance=instance, cursor=fourth.cursor)
    assert isinstance(sensors.landing_sensor(ctx5), dg.SkipReason)


def test_sensor_groups_contiguous_days_into_one_range_run():
    from orchestration.sensors import LandedFile, plan_runs

    files = [
        LandedFile("web", day, f"web/{day}/events.jsonl", 1, 10)
        for day in ("2024-11-01", "2024-11-02", "2024-11-03", "2024-11-05")
    ]
    requests, skipped = plan_runs(files, {"2024-11-01", "2024-11-02", "2024-11-03"})
    assert skipped == ["web/2024-11-05/events.jsonl"]
    (only,) = requests
    assert only.partition_key_range.start == "2024-11-01"
    assert only.partition_key_range.end == "2024-11-03"


# --------------------------------------------------------------------------- shared S data set


def test_shared_s_sample_quarantines_exactly_the_planted_defects(shared_s_landing, tmp_path):
    """On the generator's data: the defects it lists in _truth/malformed.csv are quarantined,
    and nothing else is (a sample of days keeps this fast)."""
    with open(shared_s_landing / "_truth" / "malformed.csv", encoding="utf-8") as fh:
        truth = list(csv.DictReader(fh))
    days = sorted({row["file"].split("/")[1] for row in truth})[:20]
    raw = tmp_path / "raw"
    for system in ("crm", "shop", "pos", "loyalty", "web", "messaging", "surveys"):
        for result in load_system(system, shared_s_landing, raw, days).values():
            assert result.rows_read == result.rows_loaded + result.rows_quarantined
    quarantined = _quarantined(raw)
    planted = {(r["file"], int(r["line"])) for r in truth if r["file"].split("/")[1] in days}
    assert planted, "sample holds no planted defect"
    assert set(quarantined) == planted
    # the defect kind shows in the reason
    kinds = {(r["file"], int(r["line"])): r["defect"] for r in truth}
    for where, reason in quarantined.items():
        defect = kinds[where]
        expected_prefix = {
            "broken_json": ("invalid_json",),
            "bad_date": ("bad_timestamp", "bad_date"),
        }.get(defect, (defect,))
        assert reason.startswith(expected_prefix), (where, defect, reason)


def test_bom_and_genuine_replacement_characters_are_not_defects(tmp_path):
    landing = tmp_path / "landing"
    day = landing / "web" / "2024-11-01"
    day.mkdir(parents=True)
    body = "\ufeff".encode() + (_event("e1", page_url="https://x/\ufffd") + "\n").encode()
    body += _event("e2", page_url="XBADX").encode().replace(b"XBADX", b"\xc3\x28") + b"\n"
    (day / "events.jsonl").write_bytes(body)
    raw = tmp_path / "raw"
    result = load_table("web", "events", landing, raw, ["2024-11-01"])
    assert (result.rows_loaded, result.quarantine_reasons) == (1, {"invalid_utf8": 1})
    (row,) = _read(raw_partition_file(raw, WEB, "2024-11-01"))
    assert row["page_url"] == "https://x/\ufffd"
    assert row["_source_line"] == 1


def test_a_file_in_the_wrong_encoding_quarantines_exactly_its_broken_lines(tmp_path):
    # 300 events, every seventh with a Latin-1 city: the broken lines are found among clean
    # ones by bisection, in ranges long and short, and each keeps its own line number
    landing = tmp_path / "landing"
    day = landing / "web" / "2024-11-01"
    day.mkdir(parents=True)
    lines = []
    for i in range(300):
        line = _event(f"e{i}", page_url="https://x/Z\u00fcrich" if i % 7 == 3 else "https://x/")
        lines.append(line.encode("latin-1") if i % 7 == 3 else line.encode())
    (day / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    raw = tmp_path / "raw"
    result = load_table("web", "events", landing, raw, ["2024-11-01"])
    broken = {i + 1 for i in range(300) if i % 7 == 3}
    assert result.quarantine_reasons == {"invalid_utf8": len(broken)}
    assert result.rows_loaded == 300 - len(broken)
    quarantined = _quarantined(raw)
    assert {line for (_file, line) in quarantined} == broken
    assert set(quarantined.values()) == {"invalid_utf8"}
    assert all(
        r["_source_line"] not in broken for r in _read(raw_partition_file(raw, WEB, "2024-11-01"))
    )


def test_broken_lines_keep_their_escaped_bytes_wherever_they_are(tmp_path):
    # CRLF endings, a broken line in the middle and a broken last line without a newline: each
    # is quarantined with its own bytes escaped and without the carriage return; the clean lines
    # around them load with their own line numbers
    landing = tmp_path / "landing"
    day = landing / "web" / "2024-11-01"
    day.mkdir(parents=True)
    lines = [
        _event("e1").encode(),
        _event("e2", page_url="XBADX").encode().replace(b"XBADX", b"caf\xe9"),
        _event("e3").encode(),
        _event("e4", page_url="XBADX").encode().replace(b"XBADX", b"\xff\xfe"),
    ]
    (day / "events.jsonl").write_bytes(b"\r\n".join(lines))
    raw = tmp_path / "raw"
    result = load_table("web", "events", landing, raw, ["2024-11-01"])
    assert (result.rows_loaded, result.quarantine_reasons) == (2, {"invalid_utf8": 2})
    loaded = _read(raw_partition_file(raw, WEB, "2024-11-01"))
    assert sorted((r["event_id"], r["_source_line"]) for r in loaded) == [("e1", 1), ("e3", 3)]
    texts = dict(_quarantine_rows(raw, "source_line, raw_text"))
    assert set(texts) == {2, 4}
    assert "caf\\xe9" in texts[2] and not texts[2].endswith("\r")
    assert "\\xff\\xfe" in texts[4] and texts[4].endswith("}")


def test_a_broken_csv_header_quarantines_every_line_with_its_text(tmp_path):
    landing = tmp_path / "landing"
    day = landing / "crm" / "2024-11-01"
    day.mkdir(parents=True)
    header = ",".join(CONTACTS.column_names).encode()
    body = header.replace(b"email", b"e\xe9mail", 1) + b"\nc1,x\nc2,y\n"
    (day / "contacts.csv").write_bytes(body)
    raw = tmp_path / "raw"
    result = load_table("crm", "contacts", landing, raw, ["2024-11-01"])
    assert (result.rows_loaded, result.quarantine_reasons) == (0, {"header_mismatch": 2})
    assert dict(_quarantine_rows(raw, "source_line, raw_text")) == {2: "c1,x", 3: "c2,y"}
