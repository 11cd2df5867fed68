"""Landing files that arrive twice, late, out of order, truncated or with a changed schema, and an
extraction killed mid-write: each has one defined behaviour (ARCHITECTURE.md, "Privacy and
faults"), checked here on tiny hand-made landing folders."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

from orchestration.config import REPO_DIR
from orchestration.extraction.loader import load_table, raw_partition_file
from orchestration.extraction.schemas import get_table

CRM = get_table("crm", "contacts")
ORDERS = get_table("shop", "orders")
DAYS = ["2024-03-01", "2024-03-02", "2024-03-03"]


def _contact(i: int, day: str) -> dict:
    return {
        "contact_id": str(i),
        "email": f"person{i}@example.com",
        "created_at": f"{day}T10:00:00Z",
        "updated_at": f"{day}T10:00:00Z",
    }


def _write_csv(path: Path, rows: list[dict], header: list[str] | None = None) -> None:
    header = header or CRM.column_names
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def _landing(root: Path, days=DAYS, per_day: int = 3) -> Path:
    landing = root / "landing"
    for n, day in enumerate(days):
        rows = [_contact(n * 100 + i, day) for i in range(per_day)]
        _write_csv(landing / "crm" / day / "contacts.csv", rows)
    return landing


def _rows(raw: Path, schema=CRM, day: str | None = None) -> list[tuple]:
    glob = str(raw / schema.system / schema.table / "**" / "*.parquet")
    if day:
        glob = str(raw_partition_file(raw, schema, day))
    con = duckdb.connect()
    try:
        return con.execute(
            f"select {', '.join(schema.column_names)}, _source_file, _source_line "
            f"from read_parquet('{glob}', union_by_name = true) order by all"
        ).fetchall()
    finally:
        con.close()


def _quarantine(raw: Path, schema=CRM) -> list[tuple]:
    files = list((raw / "_quarantine" / schema.system / schema.table).rglob("*.parquet"))
    if not files:
        return []
    con = duckdb.connect()
    try:
        return con.execute(
            "select source_file, source_line, reason from read_parquet(?) order by all",
            [[str(f) for f in files]],
        ).fetchall()
    finally:
        con.close()


def test_file_loaded_twice_is_idempotent(tmp_path):
    landing, raw = _landing(tmp_path), tmp_path / "raw"
    first = load_table("crm", "contacts", landing, raw, DAYS)
    once = _rows(raw)
    second = load_table("crm", "contacts", landing, raw, DAYS)
    assert _rows(raw) == once and len(once) == 9
    assert first.rows_loaded == second.rows_loaded == 9


def test_same_export_delivered_on_two_days_is_loaded_for_staging_to_dedupe(tmp_path):
    landing, raw = _landing(tmp_path), tmp_path / "raw"
    # day 2 re-sends day 1's file: both deliveries are kept (with their _source_file), staging
    # keeps the latest updated_at per contact.
    (landing / "crm" / DAYS[1] / "contacts.csv").write_bytes(
        (landing / "crm" / DAYS[0] / "contacts.csv").read_bytes()
    )
    result = load_table("crm", "contacts", landing, raw, DAYS)
    assert result.rows_loaded == 9 and result.rows_quarantined == 0
    ids = [r[0] for r in _rows(raw)]
    assert ids.count("0") == 2


def test_late_day_only_touches_its_partition(tmp_path):
    landing, raw = _landing(tmp_path, days=[DAYS[0], DAYS[2]]), tmp_path / "raw"
    load_table("crm", "contacts", landing, raw, DAYS)
    day3 = raw_partition_file(raw, CRM, DAYS[2])
    before = (day3.stat().st_mtime_ns, _rows(raw, day=DAYS[2]))
    assert _rows(raw, day=DAYS[1]) == []  # nothing arrived yet: an empty partition

    _write_csv(landing / "crm" / DAYS[1] / "contacts.csv", [_contact(500, DAYS[1])])
    load_table("crm", "contacts", landing, raw, [DAYS[1]])  # the sensor's run for the late day
    assert [r[0] for r in _rows(raw, day=DAYS[1])] == ["500"]
    assert (day3.stat().st_mtime_ns, _rows(raw, day=DAYS[2])) == before


def test_out_of_order_days_give_the_same_raw_zone(tmp_path):
    landing = _landing(tmp_path)
    in_order, shuffled = tmp_path / "raw_a", tmp_path / "raw_b"
    load_table("crm", "contacts", landing, in_order, DAYS)
    for day in reversed(DAYS):
        load_table("crm", "contacts", landing, shuffled, [day])
    assert _rows(in_order) == _rows(shuffled)


def test_truncated_files_quarantine_the_cut_line(tmp_path):
    landing, raw = _landing(tmp_path, days=[DAYS[0]]), tmp_path / "raw"
    path = landing / "crm" / DAYS[0] / "contacts.csv"
    path.write_bytes(path.read_bytes()[:-25])  # the last line cut mid-row, no newline
    orders = landing / "shop" / DAYS[0] / "orders.jsonl"
    orders.parent.mkdir(parents=True)
    lines = [
        json.dumps(
            {
                "order_id": str(i),
                "created_at": f"{DAYS[0]}T10:00:00Z",
                "updated_at": f"{DAYS[0]}T10:00:00Z",
            }
        )
        for i in range(3)
    ]
    orders.write_text("\n".join(lines)[:-10], encoding="utf-8")

    crm = load_table("crm", "contacts", landing, raw, [DAYS[0]])
    assert (crm.rows_read, crm.rows_loaded, crm.rows_quarantined) == (3, 2, 1)
    assert _quarantine(raw) == [("crm/2024-03-01/contacts.csv", 4, "wrong_column_count")]
    shop = load_table("shop", "orders", landing, raw, [DAYS[0]])
    assert (shop.rows_read, shop.rows_loaded, shop.rows_quarantined) == (3, 2, 1)
    assert _quarantine(raw, ORDERS) == [("shop/2024-03-01/orders.jsonl", 3, "invalid_json")]


def test_changed_csv_schema_quarantines_the_whole_file_as_header_mismatch(tmp_path):
    added = [*CRM.column_names, "loyalty_tier"]
    missing = [c for c in CRM.column_names if c != "gender"]
    renamed = [("mail" if c == "email" else c) for c in CRM.column_names]
    for n, header in enumerate((added, missing, renamed)):
        landing, raw = tmp_path / f"l{n}", tmp_path / f"r{n}"
        _write_csv(landing / "crm" / DAYS[0] / "contacts.csv", [_contact(1, DAYS[0])] * 2, header)
        result = load_table("crm", "contacts", landing, raw, [DAYS[0]])
        assert (result.rows_loaded, result.rows_quarantined) == (0, 2), header
        assert result.quarantine_reasons == {"header_mismatch": 2}
        assert result.is_conserved


def test_changed_jsonl_schema(tmp_path):
    landing, raw = tmp_path / "landing", tmp_path / "raw"
    base = {"created_at": f"{DAYS[0]}T10:00:00Z", "updated_at": f"{DAYS[0]}T10:00:00Z"}
    rows = [
        {"order_id": "1", **base, "loyalty_tier": "gold"},  # new key: loaded, key ignored
        {"order_id": "2", **base},  # optional keys missing: loaded as NULL
        {"id": "3", **base},  # required key renamed: quarantined
    ]
    path = landing / "shop" / DAYS[0] / "orders.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = load_table("shop", "orders", landing, raw, [DAYS[0]])
    assert (result.rows_loaded, result.rows_quarantined) == (2, 1)
    assert result.quarantine_reasons == {"missing_required:order_id": 1}
    assert [r[0] for r in _rows(raw, ORDERS)] == ["1", "2"]


def _load_in_subprocess(landing: Path, raw: Path, point: str | None):
    env = {k: v for k, v in os.environ.items() if k != "CLIENTBASE_FAULT_POINT"}
    if point:
        env["CLIENTBASE_FAULT_POINT"] = point
    code = (
        "from orchestration.extraction.loader import load_table; "
        f"load_table('crm', 'contacts', {str(landing)!r}, {str(raw)!r}, {DAYS!r})"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_DIR, env=env, capture_output=True, timeout=300
    )


def test_extraction_killed_mid_write_leaves_whole_partitions(tmp_path):
    landing, raw = _landing(tmp_path), tmp_path / "raw"
    assert _load_in_subprocess(landing, raw, None).returncode == 0
    old = {day: _rows(raw, day=day) for day in DAYS}
    # New exports for every day (one more contact each), then kill the reload at both points.
    for n, day in enumerate(DAYS):
        rows = [_contact(n * 100 + i, day) for i in range(4)]
        _write_csv(landing / "crm" / day / "contacts.csv", rows)
    for point in ("extract:written", "extract:first_partition_replaced"):
        killed = _load_in_subprocess(landing, raw, point)
        assert killed.returncode == 137, killed.stderr.decode()[-2000:]
        for day in DAYS:
            rows = _rows(raw, day=day)
            assert len(rows) in (3, 4)  # the old partition or the new one, never a mix
            assert rows == old[day] or len(rows) == 4
        # Leftovers of the dead load are never *.parquet, so readers (dbt's globs) ignore them.
        assert all(p.suffix != ".parquet" or p.name == "part-0.parquet" for p in raw.rglob("*"))
    assert _load_in_subprocess(landing, raw, None).returncode == 0
    rows = _rows(raw)
    assert len(rows) == 12 and len(set(rows)) == 12  # complete, no duplicates
