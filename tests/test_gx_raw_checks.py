"""GX raw-zone checks: pass on clean loads, fail (and block publishing) on bad ones."""

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from orchestration.checks import great_expectations as gxc
from orchestration.checks.gate import failed_blocking_checks
from orchestration.config import get_settings
from orchestration.extraction import schemas

FIRST_DAY = date(2024, 3, 1)
DAYS = [str(FIRST_DAY + timedelta(days=i)) for i in range(4)]


def _value(table: schemas.TableSchema, column: schemas.Column, i: int, day: str) -> str:
    if column.values:
        return column.values[i % len(column.values)]
    if column.kind == "timestamp":
        return f"{day}T10:{i % 60:02d}:00Z"
    if column.kind == "date":
        return "1990-01-02"
    if column.kind == "local_timestamp":
        y, m, d = day.split("-")
        return f"{d}.{m}.{y} 10:{i % 60:02d}:00"
    if column.kind == "amount":
        return f"{100 + i}.50"
    if column.kind == "quantity":
        return str(1 + i % 3)
    name = column.name
    if name == "email":
        return f"person{i}@example.com"
    if name in ("phone", "customer_phone"):
        return f"+7912{i:07d}"
    if name in ("time_zone", "ip_time_zone"):
        return "Europe/Moscow"
    if name in ("country_code", "ip_country"):
        return "RU"
    if name == "line_number":
        return "1"
    if name == "address":
        return f"person{i}@example.com"
    return f"{day}-{name}-{i}"


def write_raw_table(raw_dir: Path, table: schemas.TableSchema, day: str, rows: int) -> Path:
    records = []
    for i in range(rows):
        record = {c.name: _value(table, c, i, day) for c in table.columns}
        record.update(_source_file=f"{table.system}/{day}/{table.file_name}")
        records.append(record)
    frame = pd.DataFrame(records, columns=[*table.column_names, "_source_file"], dtype="string")
    # lineage columns typed as extraction writes them
    frame["_source_line"] = pd.Series(range(2, rows + 2), dtype="int64")
    frame["_loaded_at"] = pd.Timestamp(f"{day}T23:00:00", tz="UTC")
    path = gxc.raw_file(raw_dir, table, day if table.daily else None)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


@pytest.fixture()
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CLIENTBASE_DATA_DIR", str(tmp_path))
    raw_dir = tmp_path / "raw"
    for table in schemas.tables_of("crm") + schemas.tables_of("pos"):
        for day in DAYS[:3]:
            write_raw_table(raw_dir, table, day, rows=40)
    return tmp_path


def _history(system: str) -> None:
    # The first loads build the drift baseline.
    for day in DAYS[:2]:
        gxc.validate_system(system, day)


def _rewrite(path: Path, change) -> None:
    frame = pd.read_parquet(path)
    change(frame)
    frame.to_parquet(path, index=False)


def test_clean_load_passes_both_checks(data_dir):
    _history("crm")
    outcome = gxc.validate_system("crm", DAYS[2])
    assert outcome.contract_passed and outcome.drift_passed, [str(f) for f in outcome.failures]
    assert outcome.tables["contacts"]["baseline_loads"] == 2
    assert outcome.tables["contacts"]["expectations"] > 40
    assert Path(outcome.docs_index).exists()
    run_results = _passing_dbt_run_results(data_dir)
    assert failed_blocking_checks(run_results) == []


def _passing_dbt_run_results(data_dir: Path) -> Path:
    path = data_dir / "run_results.json"
    path.write_text(json.dumps({"results": [{"unique_id": "model.x.y", "status": "success"}]}))
    return path


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda f: f.__setitem__("lead_source", "carrier_pigeon"), "contacts.lead_source"),
        (lambda f: f.__delitem__("time_zone"), "expect_table_columns_to_match_set"),
        (lambda f: f.__setitem__("created_at", "01/03/2024"), "contacts.created_at"),
        (lambda f: f.__setitem__("contact_id", None), "contacts.contact_id"),
        # columns shifted by one: phones where emails should be
        (lambda f: f.__setitem__("email", f["phone"]), "contacts.email"),
    ],
    ids=["unknown-enum", "missing-column", "bad-timestamp", "missing-required", "shifted-column"],
)
def test_contract_fails_on_bad_data_and_blocks_publishing(data_dir, change, expected):
    # no history needed: the contract does not compare with earlier loads
    path = gxc.raw_file(get_settings().raw_dir, schemas.get_table("crm", "contacts"), DAYS[2])
    _rewrite(path, change)
    outcome = gxc.validate_system("crm", DAYS[2])
    assert not outcome.contract_passed
    assert any(expected in str(f) for f in outcome.failed(gxc.CRITICAL)), outcome.failures
    blocking = failed_blocking_checks(_passing_dbt_run_results(data_dir))
    assert len(blocking) == 1 and "crm.gx_contract" in blocking[0] and expected in blocking[0]


def test_quantity_must_be_positive(data_dir):
    table = schemas.get_table("pos", "receipt_lines")
    _rewrite(gxc.raw_file(get_settings().raw_dir, table, DAYS[2]),
             lambda f: f.__setitem__("quantity", "0"))  # fmt: skip
    outcome = gxc.validate_system("pos", DAYS[2])
    assert any("quantity__number" in str(f) for f in outcome.failed(gxc.CRITICAL))


def test_volume_and_mean_drift_warn_without_blocking(data_dir):
    _history("pos")
    raw_dir = get_settings().raw_dir
    receipts = schemas.get_table("pos", "receipts")
    write_raw_table(raw_dir, receipts, DAYS[2], rows=400)  # ten times the usual volume
    _rewrite(
        gxc.raw_file(raw_dir, receipts, DAYS[2]),
        lambda f: f.__setitem__("total_amount", "99999.00"),
    )
    outcome = gxc.validate_system("pos", DAYS[2])
    assert outcome.contract_passed, outcome.failures
    warned = [str(f) for f in outcome.failed(gxc.WARNING)]
    assert any("expect_table_row_count_to_be_between" in w for w in warned), warned
    assert any("total_amount__number" in w for w in warned), warned
    assert failed_blocking_checks(_passing_dbt_run_results(data_dir)) == []


def test_volume_collapse_is_an_error(data_dir, monkeypatch):
    monkeypatch.setattr(gxc, "TOLERANCES", gxc.Tolerances(row_count_error_min_baseline=10))
    for day in DAYS[:2]:
        gxc.validate_system("crm", day, tolerances=gxc.TOLERANCES)
    write_raw_table(get_settings().raw_dir, schemas.get_table("crm", "contacts"), DAYS[2], rows=1)
    outcome = gxc.validate_system("crm", DAYS[2], tolerances=gxc.TOLERANCES)
    assert any("row_count" in str(f) for f in outcome.failed(gxc.CRITICAL))


def test_missing_partition_file_is_an_error(data_dir):
    outcome = gxc.validate_system("crm", DAYS[3])
    assert not outcome.contract_passed
    assert "no file at" in str(outcome.failures[0])


def test_backfill_range_checks_earlier_days_as_one_batch(data_dir):
    raw_dir = get_settings().raw_dir
    contacts = schemas.get_table("crm", "contacts")
    _rewrite(gxc.raw_file(raw_dir, contacts, DAYS[0]), lambda f: f.__setitem__("gender", "x"))
    outcome = gxc.validate_system("crm", DAYS[:3])
    assert outcome.partition == DAYS[2] and outcome.earlier_partitions == 2
    # the bad first day is caught by the range batch; the last day is judged on its own history
    failed = [str(f) for f in outcome.failed(gxc.CRITICAL)]
    assert len(failed) == 1 and "gender" in failed[0] and DAYS[0] in failed[0], failed
    assert outcome.tables["contacts"]["baseline_loads"] == 2


def test_blocking_asset_check_stops_downstream_assets(data_dir):
    partitions = dg.DailyPartitionsDefinition(start_date=DAYS[0])
    tables = schemas.tables_of("crm")

    @dg.multi_asset(
        specs=[dg.AssetSpec(["raw", "crm", t.table]) for t in tables], partitions_def=partitions
    )
    def extract_crm():
        for t in tables:
            yield dg.MaterializeResult(asset_key=["raw", "crm", t.table])

    @dg.asset(deps=[dg.AssetKey(["raw", "crm", "contacts"])], partitions_def=partitions)
    def downstream_mart() -> None:
        return None

    checks = gxc.build_gx_asset_checks(["crm"], lambda s, t: dg.AssetKey(["raw", s, t]))
    selection = [extract_crm, downstream_mart, *checks]

    good = dg.materialize(selection, partition_key=DAYS[1], raise_on_error=False)
    assert good.success
    evaluations = {e.check_name: e for e in good.get_asset_check_evaluations()}
    assert evaluations["gx_contract"].passed and evaluations["gx_drift"].passed

    path = gxc.raw_file(get_settings().raw_dir, schemas.get_table("crm", "contacts"), DAYS[2])
    _rewrite(path, lambda f: f.__setitem__("gender", "unknown"))
    bad = dg.materialize(selection, partition_key=DAYS[2], raise_on_error=False)
    assert not bad.success
    evaluations = {e.check_name: e for e in bad.get_asset_check_evaluations()}
    assert not evaluations["gx_contract"].passed
    assert evaluations["gx_contract"].severity == dg.AssetCheckSeverity.ERROR
    assert "gender" in evaluations["gx_contract"].description
    materialized = {e.asset_key for e in bad.get_asset_materialization_events()}
    assert dg.AssetKey("downstream_mart") not in materialized


def _stored_results(data_dir: Path) -> list[Path]:
    validations = data_dir / "reports" / "gx" / "gx" / "uncommitted" / "validations"
    return sorted(validations.rglob("*.json"))


def _result_pages(data_dir: Path) -> list[Path]:
    return sorted((gxc.docs_dir(data_dir / "reports") / "validations").rglob("*.html"))


def test_old_validation_results_and_their_pages_are_pruned(data_dir, monkeypatch):
    _history("crm")  # two runs: two stored results (and pages) per table
    results, pages = _stored_results(data_dir), _result_pages(data_dir)
    assert len(results) == 2 and len(pages) == 2, (results, pages)
    # Age the first run's result by 40 days: GX keys results by their folder names.
    old_run = results[0].parent
    aged = old_run.with_name((datetime.now(UTC) - timedelta(days=40)).strftime("%Y%m%dT%H%M%S.%fZ"))
    old_run.rename(aged)

    monkeypatch.setenv(gxc.KEEP_DAYS_ENV, "60")
    outcome = gxc.validate_system("crm", DAYS[2])
    assert outcome.pruned_results == 0
    assert aged.exists() and len(_stored_results(data_dir)) == 3

    monkeypatch.setenv(gxc.KEEP_DAYS_ENV, "30")
    outcome = gxc.validate_system("crm", DAYS[2])
    assert outcome.pruned_results == 1
    assert not aged.exists() and len(_stored_results(data_dir)) == 3
    # the index build dropped the deleted result's page and lists the three kept ones
    assert len(_result_pages(data_dir)) == 3
    index = Path(outcome.docs_index).read_text()
    assert aged.name not in index


def test_docs_site_is_capped_and_an_older_site_config_is_replaced(data_dir):
    reports = data_dir / "reports"
    context = gxc._context(reports)
    site = context.list_data_docs_sites()[gxc.DOCS_SITE]
    assert site["site_index_builder"]["validation_results_limit"] == gxc.DOCS_INDEX_RESULTS
    # a site written by an older clientbase (no cap) is brought up to date
    context.delete_data_docs_site(gxc.DOCS_SITE)
    context.add_data_docs_site(
        site_name=gxc.DOCS_SITE,
        site_config={**site, "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"}},
    )
    site = gxc._context(reports).list_data_docs_sites()[gxc.DOCS_SITE]
    assert site["site_index_builder"]["validation_results_limit"] == gxc.DOCS_INDEX_RESULTS


@pytest.mark.parametrize("value", ["0", "-3", "soon"])
def test_keep_days_must_be_a_positive_number(monkeypatch, value):
    monkeypatch.setenv(gxc.KEEP_DAYS_ENV, value)
    with pytest.raises(ValueError):
        gxc.keep_days()
