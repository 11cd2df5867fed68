"""End to end: the real nightly build of size S, checked against the generator's hidden truth."""

from __future__ import annotations

import csv
from collections import Counter

import duckdb
import pytest

pytestmark = pytest.mark.e2e


def _query(built, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_build_succeeds_and_reports(built_s) -> None:
    assert "success" in built_s.output
    assert "== clientbase summary ==" in built_s.output
    for layer in ("staging", "intermediate", "marts"):
        assert f"  {layer}" in built_s.output


def test_every_planted_malformed_row_is_quarantined_and_nothing_else(built_s) -> None:
    with (built_s.truth_dir / "malformed.csv").open(newline="", encoding="utf-8") as f:
        planted = {(row["file"], int(row["line"])) for row in csv.DictReader(f)}
    with duckdb.connect() as con:
        quarantined = set(
            con.execute(
                "select source_file, cast(source_line as integer) from read_parquet(?, "
                "union_by_name = true)",
                [str(built_s.raw_dir / "_quarantine" / "**" / "*.parquet")],
            ).fetchall()
        )
    assert planted, "the generator planted no malformed rows"
    assert quarantined == planted


def test_raw_rows_equal_loaded_plus_quarantined(built_s) -> None:
    """Conservation over the whole window: every landing line is either in raw or quarantine."""
    landing_rows = 0
    for path in built_s.landing_dir.rglob("*"):
        if path.is_file() and path.suffix in (".csv", ".jsonl") and "_truth" not in path.parts:
            lines = path.read_bytes().count(b"\n")
            landing_rows += lines - 1 if path.suffix == ".csv" else lines
    with duckdb.connect() as con:
        raw_rows = sum(
            con.execute(
                "select count(*) from read_parquet(?, union_by_name = true)", [str(p)]
            ).fetchone()[0]
            for p in built_s.raw_dir.glob("*/*/**/*.parquet")
            if "_quarantine" not in p.parts and "contact_point_checks" not in p.parts
        )
        quarantined = con.execute(
            "select count(*) from read_parquet(?, union_by_name = true)",
            [str(built_s.raw_dir / "_quarantine" / "**" / "*.parquet")],
        ).fetchone()[0]
    assert raw_rows + quarantined == landing_rows


def test_known_crm_duplicates_are_merged(built_s) -> None:
    with (built_s.truth_dir / "records.csv").open(newline="", encoding="utf-8") as f:
        contacts = [
            (row["record_id"], row["person_id"])
            for row in csv.DictReader(f)
            if row["record_type"] == "crm_contact" and row["person_id"]
        ]
    resolved = dict(
        _query(
            built_s,
            "select record_id, customer_id from intermediate.int_source_records_resolved "
            "where record_type = 'crm_contact'",
        )
    )
    by_person: dict[str, set] = {}
    for contact_id, person in contacts:
        by_person.setdefault(person, set()).add(resolved.get(contact_id))
    counts = Counter(person for _, person in contacts)
    duplicated = {p: ids for p, ids in by_person.items() if counts[p] > 1}
    assert len(duplicated) >= 20, "size S should plant CRM duplicates"
    merged = sum(1 for ids in duplicated.values() if len(ids) == 1 and None not in ids)
    assert merged / len(duplicated) >= 0.95
    # and the CRM team's to-do list names them
    flagged = _query(built_s, "select count(*) from marts.contact_hygiene where is_duplicate")[0][0]
    assert flagged >= merged * 0.9


def test_stale_time_zones_are_flagged_with_a_different_inferred_zone(built_s) -> None:
    rows = _query(
        built_s,
        "select profile_time_zone, current_time_zone, time_zone_confidence "
        "from marts.contact_hygiene where is_time_zone_stale",
    )
    assert len(rows) >= 20
    assert all(profile != current for profile, current, _ in rows)
    assert all(0 < confidence <= 1 for _, _, confidence in rows)


def test_rfm_cells_add_up_to_the_order_facts(built_s) -> None:
    ((rfm_customers, rfm_monetary),) = _query(
        built_s, "select count(*), sum(monetary) from marts.customer_rfm"
    )
    (purchasers,) = _query(
        built_s,
        "select count(distinct customer_id) from marts.fct_orders "
        "where is_purchase and customer_id is not null",
    )[0]
    assert rfm_customers == purchasers > 100
    cells = _query(
        built_s, "select rfm_cell, count(*) from marts.customer_rfm group by 1 order by 1"
    )
    assert sum(n for _, n in cells) == rfm_customers
    assert all(len(cell) == 3 and set(cell) <= set("ABC") for cell, _ in cells)
    assert rfm_monetary > 0


def test_published_serving_catalogue_is_readable_and_pii_safe(built_s) -> None:
    catalogue = built_s.data_dir / "serving" / "clientbase.duckdb"
    assert catalogue.exists()
    with duckdb.connect(str(catalogue), read_only=True) as con:
        tables = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'bi'"
            ).fetchall()
        }
        assert {"dim_customers", "fct_orders", "customer_rfm", "contact_hygiene"} <= tables
        columns = con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'bi' and table_name = 'dim_customers' "
            "and data_type = 'VARCHAR'"
        ).fetchall()
        for (column,) in columns:
            leaked = con.execute(
                f'select count(*) from bi.dim_customers where "{column}" like ?', ["%@%.%"]
            ).fetchone()[0]
            assert leaked == 0, f"bi.dim_customers.{column} holds raw e-mail addresses"


def test_nightly_pictures_and_exports_are_written(built_s) -> None:
    report = built_s.data_dir / "reports" / "index.html"
    assert report.exists()
    html = report.read_text(encoding="utf-8")
    assert html.count("<img") >= 5
    exports = list((built_s.data_dir / "exports").glob("*.csv"))
    assert exports, "the nightly audience exports wrote nothing"
