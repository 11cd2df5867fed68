"""Contact-point library checks and the publishing gate's reading of dbt run results."""

import json

import pandas as pd
import pytest

from orchestration.assets import contact_points as cp
from orchestration.checks.gate import dbt_blocking_failures, failed_blocking_checks


@pytest.mark.parametrize(
    ("raw", "valid", "role", "disposable", "normalised"),
    [
        ("Ivan.Petrov@Gmail.com ", True, False, False, "ivan.petrov@gmail.com"),
        ("INFO@shop.ru", True, True, False, "info@shop.ru"),
        ("sales+spring@shop.ru", True, True, False, "sales+spring@shop.ru"),
        ("anna@mailinator.com", True, False, True, "anna@mailinator.com"),
        ("anna@eu.mailinator.com", True, False, True, "anna@eu.mailinator.com"),
        ("anna@@mail.ru", False, False, False, "anna@@mail.ru"),
        ("anna@localhost", False, False, False, "anna@localhost"),
    ],
)
def test_email_checks(raw, valid, role, disposable, normalised):
    result = cp.check_email(raw)
    assert result["is_valid"] == str(valid).lower()
    assert result["is_role"] == str(role).lower()
    assert result["is_disposable"] == str(disposable).lower()
    assert result["normalised"] == normalised
    if not valid:
        assert result["reason"].startswith("invalid_syntax: ")


@pytest.mark.parametrize(
    ("raw", "valid", "e164", "country", "zones"),
    [
        ("8 (912) 345-67-89", True, "+79123456789", "RU", None),  # many zones: no tz evidence
        ("+7 495 123 45 67", True, "+74951234567", "RU", "Europe/Moscow"),
        ("+48 512 345 678", True, "+48512345678", "PL", "Europe/Warsaw"),
        ("+94 77 123 4567", True, "+94771234567", "LK", "Asia/Colombo"),
        ("12345", False, "+712345", None, None),
        ("call me", False, None, None, None),
    ],
)
def test_phone_checks(raw, valid, e164, country, zones):
    result = cp.check_phone(raw)
    assert result["is_valid"] == str(valid).lower()
    assert result["normalised"] == e164
    assert result["phone_country_code"] == country
    if zones:
        assert result["phone_time_zones"] == zones and result["phone_time_zone_count"] == "1"
    elif valid:
        assert int(result["phone_time_zone_count"]) > 1


def test_asset_reads_every_raw_table_and_writes_text_parquet(tmp_path):
    raw = tmp_path / "raw"
    tables = {
        ("crm", "contacts"): {"email": ["a@x.ru", " a@x.ru", None], "phone": ["+48512345678"] * 3},
        ("messaging", "events"): {
            "channel": ["email", "sms", "telegram", "whatsapp"],
            "address": ["info@x.ru", "89123456789", "tg_12345", "4915112345678"],
        },
        ("pos", "receipts"): {"customer_phone": ["", "8 912 345 67 89", "bad"]},
    }
    for (system, table), columns in tables.items():
        folder = raw / system / table / "partition_date=2026-10-01"
        folder.mkdir(parents=True)
        pd.DataFrame(columns, dtype="string").to_parquet(folder / "part-0.parquet")
    path, checks, _ = cp.write_contact_point_checks(raw)
    assert path == raw / "reference" / "contact_point_checks" / "part-0.parquet"
    written = pd.read_parquet(path)
    text = written.drop(columns=["_loaded_at"])
    assert all(pd.api.types.is_string_dtype(text[c]) for c in text.columns)
    assert str(written["_loaded_at"].dt.tz) == "UTC"
    values = set(zip(written["contact_point_type"], written["value_raw"], strict=True))
    # telegram ids are neither emails nor phones; blanks are skipped; spellings kept apart
    assert values == {
        ("email", "a@x.ru"), ("email", " a@x.ru"), ("email", "info@x.ru"),
        # a messaging MSISDN is also checked as staging reads it (E.164); a national number not
        ("phone", "4915112345678"), ("phone", "+4915112345678"),
        ("phone", "+48512345678"), ("phone", "89123456789"), ("phone", "8 912 345 67 89"),
        ("phone", "bad"),
    }  # fmt: skip
    by_value = written.set_index("value_raw")
    assert by_value.loc["info@x.ru", "is_role"] == "true"
    assert by_value.loc["bad", "is_valid"] == "false"
    assert by_value.loc["+4915112345678", "is_valid"] == "true"
    assert by_value.loc["+4915112345678", "phone_country_code"] == "DE"


def _run_results(tmp_path, results):
    path = tmp_path / "run_results.json"
    path.write_text(json.dumps({"results": results}))
    return path


def test_gate_blocks_on_error_failures_only(tmp_path):
    path = _run_results(
        tmp_path,
        [
            {"unique_id": "model.clientbase.contact_hygiene", "status": "success"},
            {"unique_id": "test.clientbase.rate_below_a", "status": "warn", "message": "Got 1"},
            {"unique_id": "test.clientbase.rate_below_b", "status": "fail", "message": "Got 2"},
            {"unique_id": "model.clientbase.broken", "status": "error", "message": "Boom\nx"},
            {"unique_id": "model.clientbase.child", "status": "skipped"},
            {"unique_id": "unit_test.clientbase.m.t", "status": "fail", "message": "diff"},
        ],
    )
    failures = dbt_blocking_failures(path)
    assert failures == [
        "dbt test.clientbase.rate_below_b fail: Got 2",
        "dbt model.clientbase.broken error: Boom",
        "dbt unit_test.clientbase.m.t fail: diff",
    ]


def test_gate_without_results_blocks(tmp_path):
    assert "not found" in dbt_blocking_failures(tmp_path / "missing.json")[0]
    (tmp_path / "bad.json").write_text("{")
    assert "unreadable" in dbt_blocking_failures(tmp_path / "bad.json")[0]


def test_gate_reads_gx_verdicts(tmp_path):
    ok = _run_results(tmp_path, [{"unique_id": "model.x.y", "status": "success"}])
    gx_dir = tmp_path / "gx"
    gx_dir.mkdir()
    verdict = {"check_name": "crm.gx_contract", "partition": "2026-10-01", "severity": "ERROR"}
    (gx_dir / "crm__gx_contract.json").write_text(json.dumps({**verdict, "passed": True}))
    (gx_dir / "crm__gx_drift.json").write_text(
        json.dumps({**verdict, "severity": "WARN", "passed": False})
    )
    assert failed_blocking_checks(ok, gx_dir) == []
    (gx_dir / "crm__gx_contract.json").write_text(
        json.dumps({**verdict, "passed": False, "failed_expectations": ["contacts.gender x"]})
    )
    assert failed_blocking_checks(ok, gx_dir) == [
        "gx crm.gx_contract on partition 2026-10-01 failed: contacts.gender x"
    ]


def test_reruns_check_only_new_values_and_drop_vanished_ones(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    folder = raw / "crm" / "contacts" / "partition_date=2026-10-01"
    folder.mkdir(parents=True)
    first = {"email": ["a@x.ru", "info@y.ru", "gone@z.ru"], "phone": ["+48512345678", "bad", None]}
    pd.DataFrame(first, dtype="string").to_parquet(folder / "part-0.parquet")
    cp.write_contact_point_checks(raw)

    # next night: one value vanished (erased), two are new
    second = {"email": ["a@x.ru", "info@y.ru", "new@x.ru"], "phone": ["+48512345678", "bad", "89123456789"]}  # noqa: E501
    pd.DataFrame(second, dtype="string").to_parquet(folder / "part-0.parquet")
    checked = []
    original = cp.build_contact_point_checks

    def spy(values):
        checked.extend(values["value_raw"])
        return original(values)

    monkeypatch.setattr(cp, "build_contact_point_checks", spy)
    path, checks, checked_now = cp.write_contact_point_checks(raw)
    assert sorted(checked) == ["89123456789", "new@x.ru"]
    assert checked_now == 2

    # same rows, same order as checking everything from scratch
    monkeypatch.setattr(cp, "build_contact_point_checks", original)
    scratch = original(cp.read_distinct_raw_values(raw))
    pd.testing.assert_frame_equal(checks.reset_index(drop=True), scratch)
    written = pd.read_parquet(path).drop(columns=["_loaded_at"])
    assert "gone@z.ru" not in set(written["value_raw"])
    pd.testing.assert_frame_equal(written, scratch.astype("string"))

    # results of other library versions are never reused
    monkeypatch.setattr(cp, "checked_with", lambda: "email-validator 99")
    monkeypatch.setattr(cp, "build_contact_point_checks", spy)
    checked.clear()
    cp.write_contact_point_checks(raw)
    assert len(checked) == len(scratch)
