"""Contact-point library checks and the publishing gate's reading of dbt run results."""

import json
from datetime import UTC, datetime, timedelta

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


@pytest.mark.parametrize(
    ("bare", "national"),
    [
        ("89161234567", True),  # trunk 8 + 10 digits
        ("79161234567", True),  # country code without its plus
        ("4951283020", True),  # bare 10-digit landline
        ("48601234567", False),  # an MSISDN: Poland
        ("5951283020", False),  # no +7 number starts with 5
    ],
)
def test_national_numbers_come_from_the_numbering_plan_staging_uses(bare, national):
    import re

    assert bool(re.fullmatch(cp.national_phone_pattern(), bare)) is national


def test_national_pattern_follows_dbt_project_vars(tmp_path, monkeypatch):
    (tmp_path / "dbt_project.yml").write_text(
        "vars:\n"
        "  phone_numbering_plans:\n"
        "    '48':\n"
        "      national_rewrites:\n"
        "        - ['^0?([1-9][0-9]{8})$', '+48\\1']\n"
        "      valid: '^[+]48[0-9]{9}$'\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(cp, "DBT_PROJECT_DIR", tmp_path)
    assert cp.national_phone_pattern("48") == "0?([1-9][0-9]{8})"


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
    result = cp.write_contact_point_checks(raw)
    path = result.path
    assert path == raw / "reference" / "contact_point_checks" / "part-0.parquet"
    assert (result.mode, result.files_read) == ("full", 3)
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
    assert result.summary == {
        "rows": 9, "emails": 3, "phones": 6, "invalid": 2, "role": 1, "disposable": 0,
    }  # fmt: skip


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


def _write_day(raw, day, columns, table=("crm", "contacts")):
    folder = raw / table[0] / table[1] / f"partition_date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(columns, dtype="string").to_parquet(folder / "part-0.parquet")


def _written(path):
    # as text with pandas' missing-value marker, whatever dtype the Parquet reader picks
    return pd.read_parquet(path).drop(columns=["_loaded_at"]).astype("string")


@pytest.fixture
def spy(monkeypatch):
    """The values handed to the Python libraries, run by run."""
    checked = []
    original = cp.build_contact_point_checks

    def spying(values):
        checked.extend(values["value_raw"])
        return original(values)

    monkeypatch.setattr(cp, "build_contact_point_checks", spying)
    yield checked
    monkeypatch.setattr(cp, "build_contact_point_checks", original)


def _stamps(path) -> dict:
    stamps = pd.read_parquet(path).set_index("value_raw")["_loaded_at"]
    return {value: pd.Timestamp(stamp) for value, stamp in stamps.items()}


def _a_day_later(monkeypatch, stamps: dict) -> pd.Timestamp:
    """Make the asset's clock read a day after the given stamps; returns that stamp."""
    later = max(stamps.values()).to_pydatetime().astimezone(UTC) + timedelta(days=1)

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):
            return later

    monkeypatch.setattr(cp, "datetime", Clock)
    return pd.Timestamp(later)


def test_a_night_reads_only_new_raw_files_and_checks_only_new_values(tmp_path, spy, monkeypatch):
    raw = tmp_path / "raw"
    _write_day(
        raw, "2026-10-01", {"email": ["a@x.ru", "info@y.ru"], "phone": ["+48512345678", "bad"]}
    )  # noqa: E501
    first = cp.write_contact_point_checks(raw)
    assert (first.mode, first.files_read, first.checked_now) == ("full", 1, 4)
    first_stamps = _stamps(first.path)

    # next night: a new day holding one known and two new values; the old day is not read
    _write_day(raw, "2026-10-02", {"email": ["a@x.ru", "new@x.ru"], "phone": [None, "89123456789"]})  # noqa: E501
    spy.clear()
    tonight = _a_day_later(monkeypatch, first_stamps)
    night = cp.write_contact_point_checks(raw)
    assert (night.mode, night.files_read, night.checked_now) == ("incremental", 1, 2)
    assert sorted(spy) == ["89123456789", "new@x.ru"]
    # the values checked before keep their check time; only tonight's are stamped tonight,
    # which is what staging merges (stg_hygiene__contact_point_checks)
    night_stamps = _stamps(night.path)
    assert {v: night_stamps[v] for v in first_stamps} == first_stamps
    stamped_tonight = {value for value, stamp in night_stamps.items() if stamp == tonight}
    assert stamped_tonight == {"89123456789", "new@x.ru"}
    # the same rows, in the same order, as checking the whole raw zone from scratch
    written = _written(night.path)
    scratch = cp.build_contact_point_checks(cp.read_distinct_raw_values(raw)).astype("string")
    pd.testing.assert_frame_equal(written, scratch)
    assert night.rows == 6

    # nothing new: nothing read, nothing checked, same file content
    spy.clear()
    idle = cp.write_contact_point_checks(raw)
    assert (idle.mode, idle.files_read, idle.checked_now) == ("incremental", 0, 0)
    pd.testing.assert_frame_equal(_written(idle.path), written)


def test_reruns_check_only_new_values_and_drop_vanished_ones(tmp_path, spy, monkeypatch):
    raw = tmp_path / "raw"
    first = {"email": ["a@x.ru", "info@y.ru", "gone@z.ru"], "phone": ["+48512345678", "bad", None]}
    _write_day(raw, "2026-10-01", first)
    stamps = _stamps(cp.write_contact_point_checks(raw).path)

    # the same file rewritten (re-extracted, or scrubbed by an erasure): one value vanished,
    # two are new. A changed file means every raw file is read again.
    second = {
        "email": ["a@x.ru", "info@y.ru", "new@x.ru"],
        "phone": ["+48512345678", "bad", "89123456789"],
    }  # noqa: E501
    _write_day(raw, "2026-10-01", second)
    spy.clear()
    tonight = _a_day_later(monkeypatch, stamps)
    result = cp.write_contact_point_checks(raw)
    assert result.mode == "full"
    assert sorted(spy) == ["89123456789", "new@x.ru"]
    assert result.checked_now == 2
    # a full read stamps every row: values may have left, and staging rebuilds on that sign
    assert set(_stamps(result.path).values()) == {tonight}

    # same rows, same order as checking everything from scratch
    spy.clear()
    scratch = cp.build_contact_point_checks(cp.read_distinct_raw_values(raw)).astype("string")
    written = _written(result.path)
    assert "gone@z.ru" not in set(written["value_raw"])
    pd.testing.assert_frame_equal(written, scratch)

    # results of other library versions are never reused
    monkeypatch.setattr(cp, "checked_with", lambda: "email-validator 99")
    spy.clear()
    again = cp.write_contact_point_checks(raw)
    assert again.mode == "full" and len(spy) == len(scratch)


def test_a_checks_file_rewritten_in_place_is_not_trusted_for_a_night(tmp_path, spy):
    """An erasure scrubs values from the checks file itself: the manifest no longer matches it,
    so the next run reads every raw file instead of trusting what the file holds."""
    raw = tmp_path / "raw"
    _write_day(raw, "2026-10-01", {"email": ["a@x.ru", "b@x.ru"], "phone": [None, None]})
    first = cp.write_contact_point_checks(raw)
    kept = pd.read_parquet(first.path)
    kept = kept[kept["value_raw"] != "b@x.ru"]
    kept.to_parquet(first.path, index=False)
    spy.clear()
    result = cp.write_contact_point_checks(raw)
    assert result.mode == "full" and spy == ["b@x.ru"]
    assert set(_written(result.path)["value_raw"]) == {"a@x.ru", "b@x.ru"}
    # a damaged manifest costs a full read, never a wrong file
    cp.manifest_path(raw).write_text("{not json")
    assert cp.write_contact_point_checks(raw).mode == "full"


def test_many_values_are_checked_in_worker_processes_with_the_same_result(monkeypatch):
    values = pd.DataFrame(
        {
            "value_raw": ["a@x.ru", "+48512345678", "bad", "info@y.ru", "89123456789", "x@@y"],
            "contact_point_type": ["email", "phone", "phone", "email", "phone", "email"],
        }
    )
    serial = cp.build_contact_point_checks(values, workers=1)
    monkeypatch.setattr(cp, "PARALLEL_MIN_VALUES", 2)
    monkeypatch.setattr(cp, "_CHUNK_VALUES", 4)
    parallel = cp.build_contact_point_checks(values, workers=2)
    pd.testing.assert_frame_equal(parallel, serial)
    assert list(parallel["value_raw"]) == list(values["value_raw"])


def test_spellings_of_one_contact_point_share_a_verdict_that_equals_checking_each_alone():
    # A chunk parses every spelling but computes a number's verdict (validity, zones) once, and
    # an email's once per stripped value. Each row must still be what the per-value functions
    # say, including the parse errors, which name the spelling.
    phones = ["+7 916 123-45-67", "89161234567", "8 (916) 123 45 67", "+79161234567",
              "9161234567", "+48 512 345 678", "48512345678", "+48512345678", "12", "not a phone",
              "+7 916 123"]  # fmt: skip
    emails = ["Ivan@Mail.ru", " Ivan@Mail.ru", "ivan@mail.ru ", "ivan@mail.ru", "x@@y", " x@@y"]
    values = pd.DataFrame(
        {
            "value_raw": phones + emails,
            "contact_point_type": ["phone"] * len(phones) + ["email"] * len(emails),
        }
    )
    built = cp.build_contact_point_checks(values, workers=1).set_index("value_raw")
    for value in phones:
        expected = cp.check_phone(value)
        assert {k: built.loc[value, k] for k in expected} == expected, value
    for value in emails:
        expected = cp.check_email(value)
        assert {k: built.loc[value, k] for k in expected} == expected, value
    # the shared verdicts really are shared: four spellings, one E.164 number
    assert built.loc[phones[:4], "normalised"].nunique() == 1
