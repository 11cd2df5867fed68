"""Erasure that sticks: erase a real size-S person from a copy of the session build, then check
raw, warehouse, serving and exports independently of the erasure code's own scanner, re-extract
the old landing files and rebuild staging from them: the person stays gone."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from orchestration import erasure
from orchestration.config import DBT_PROJECT_DIR, REPO_DIR
from orchestration.extraction.loader import extract_all


def _texts(con: duckdb.DuckDBPyConnection, reader: str) -> list[str]:
    """Every non-null cell of a file/table as text (an independent, dumb check)."""
    cols = [r[0] for r in con.execute(f"describe select * from {reader}").fetchall()]
    if not cols:
        return []
    cells = " union all ".join(f'select cast("{c}" as varchar) v from {reader}' for c in cols)
    return [r[0] for r in con.execute(f"select v from ({cells}) where v is not null").fetchall()]


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _hits(texts: list[str], needles: set[str]) -> set[str]:
    """Needles present in the cells: equal, as a `type:value` suffix, e-mails inside any text,
    phones in any formatting (same last ten digits)."""
    cells = {t.strip().lower() for t in texts}
    phones = {_digits(t)[-10:] for t in cells if 10 <= len(_digits(t)) <= 15 and t.isascii()}
    suffixes = {t.rsplit(":", 1)[-1] for t in cells if ":" in t}
    found = set()
    for needle in needles:
        n = needle.strip().lower()
        exact = n in cells or n in suffixes
        email = "@" in n and any(n in t for t in cells)
        phone = n.startswith("+") and _digits(n)[-10:] in phones
        if exact or email or phone:
            found.add(needle)
    return found


@pytest.fixture(scope="module")
def erased(built_s, tmp_path_factory):
    """A copy of the built data folder with one multi-identifier person erased."""
    root = tmp_path_factory.mktemp("erasure")
    data = root / "data"
    shutil.copytree(built_s.data_dir, data, symlinks=True)
    env = {
        "CLIENTBASE_DATA_DIR": str(data),
        "CLIENTBASE_LANDING_DIR": str(built_s.landing_dir),
        "CLIENTBASE_WAREHOUSE": str(data / "warehouse.duckdb"),
        "CLIENTBASE_PII_SALT": built_s.env["CLIENTBASE_PII_SALT"],
        "DBT_TARGET_PATH": str(root / "target"),
        "DBT_LOG_PATH": str(root / "logs"),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)

    truth: dict[str, list[tuple[str, str]]] = {}
    with (built_s.truth_dir / "records.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["person_id"]:
                truth.setdefault(row["person_id"], []).append(
                    (row["record_type"], row["record_id"])
                )
    exported = set()
    for path in (data / "exports").glob("*.csv"):
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                exported.update(v.lower() for v in row)

    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    resolved = {
        (t, r): c
        for t, r, c in con.execute(
            "select record_type, record_id, customer_id "
            "from intermediate.int_source_records_resolved"
        ).fetchall()
    }
    identifiers: dict[str, list[tuple[str, str]]] = {}
    for c, t, v in con.execute(
        "select customer_id, identifier_type, identifier_value "
        "from intermediate.int_identifiers_resolved where customer_id is not null"
    ).fetchall():
        identifiers.setdefault(c, []).append((t, v))
    con.close()

    # A person whose records all resolve to one customer (identity did not split them), with
    # several kinds of identifier, preferably one the exports carry.
    candidates = []
    for person, records in truth.items():
        customers = {resolved.get(r) for r in records}
        if len(customers) != 1 or None in customers:
            continue
        customer = customers.pop()
        types = {t for t, _ in identifiers.get(customer, [])}
        if {"email", "phone", "loyalty_card", "crm_contact_id"} <= types:
            emails = [v for t, v in identifiers[customer] if t == "email"]
            candidates.append((not any(e in exported for e in emails), person, customer, emails[0]))
    assert candidates, "no multi-identifier person resolved to one customer in the S build"
    _, person, customer, email = sorted(candidates)[0]
    needles = {v for _, v in identifiers[customer]} | {r for _, r in truth[person]} | {customer}
    needles = {n for n in needles if len(n) >= 6}  # short ids would match unrelated text

    result = erasure.erase("email", email.upper())  # case/format differences still resolve
    yield {
        "data": data,
        "landing": built_s.landing_dir,
        "result": result,
        "needles": needles,
        "customer": customer,
        "email": email,
        "env": env,
        "exported": email in exported,
        "salt": built_s.env["CLIENTBASE_PII_SALT"],
    }
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _raw_hits(data: Path, needles: set[str]) -> dict[str, set[str]]:
    con = duckdb.connect()
    found = {}
    for path in sorted((data / "raw").rglob("*.parquet")):
        hits = _hits(_texts(con, f"read_parquet('{path}', hive_partitioning = false)"), needles)
        if hits:
            found[str(path.relative_to(data))] = hits
    return found


def test_erase_reports_where_the_person_was_and_that_they_are_gone(erased):
    result = erased["result"]
    assert result.customers == 1
    assert result.is_gone, result.after
    places = set(result.before)
    assert any(p.startswith("raw/crm/") for p in places)
    assert any(p.startswith("warehouse/marts.") for p in places)
    assert any(p.startswith("serving/") for p in places)
    if erased["exported"]:
        assert any(p.startswith("exports/") for p in places)
    # Only hashes are stored: no raw identifier in the erasure folder.
    stored = "".join(p.read_text() for p in (erased["data"] / "erasure").rglob("*.*sv"))
    stored += "".join(p.read_text() for p in (erased["data"] / "erasure").rglob("*.json"))
    for needle in erased["needles"]:
        if "@" in needle or needle.startswith("+"):
            assert needle.lower() not in stored.lower()
            assert _digits(needle)[-10:] not in stored or "@" in needle


def test_no_trace_in_raw_warehouse_serving_exports(erased):
    data, needles = erased["data"], erased["needles"]
    assert not _raw_hits(data, needles)

    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_type = 'BASE TABLE'"
    ).fetchall()
    for schema, table in tables:
        assert not _hits(_texts(con, f'"{schema}"."{table}"'), needles), (schema, table)
    con.close()

    con = duckdb.connect()
    con.execute("set variable s = ?", [erased["salt"]])
    hashed = {
        r[0]
        for r in con.execute(
            "select sha256(getvariable('s') || v) from unnest(?) t(v)", [sorted(needles)]
        ).fetchall()
    }
    snapshots = [p for p in (data / "serving" / "snapshots").iterdir() if p.is_dir()]
    assert len(snapshots) == 1, "older snapshots (holding the person) must be purged"
    for path in snapshots[0].rglob("*.parquet"):
        texts = _texts(con, f"read_parquet('{path}')")
        assert not _hits(texts, needles), path
        assert not hashed & set(texts), f"{path} still holds the person's salted hashes"
    for path in (data / "exports").glob("*.*"):
        assert erased["email"].lower() not in path.read_bytes().decode("utf-8", "replace").lower()

    assert erasure.prove() == {}


def test_reextracting_old_landing_files_does_not_bring_them_back(erased):
    data = erased["data"]
    results = extract_all(erased["landing"], data / "raw")
    assert all(r.is_conserved for r in results)
    assert sum(r.rows_erased for r in results) > 0
    assert not _raw_hits(data, erased["needles"])
    assert erasure.prove(erased["result"].request_id) == {}

    # Rebuild the staging layer from the re-extracted raw zone: still nobody.
    env = {**os.environ, **erased["env"]}
    completed = subprocess.run(
        ["dbt", "run", "--profiles-dir", str(REPO_DIR), "--select", "staging"],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:]
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    for (table,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'staging'"
    ).fetchall():
        assert not _hits(_texts(con, f"staging.{table}"), erased["needles"]), table
    con.close()


def test_prove_cli_by_identifier(erased, capsys):
    from orchestration.cli import main

    assert main(["erase", "--prove", "--email", f"  {erased['email']} "]) == 0
    out = capsys.readouterr().out
    assert "gone from raw, warehouse, serving and exports" in out
    assert "the person was in" in out


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A hand-made data folder: identity tables, one mart, one raw partition, one export."""
    data = tmp_path / "data"
    monkeypatch.setenv("CLIENTBASE_DATA_DIR", str(data))
    monkeypatch.setenv("CLIENTBASE_WAREHOUSE", str(data / "warehouse.duckdb"))
    monkeypatch.setenv("CLIENTBASE_PII_SALT", "pepper")
    for key in ("CLIENTBASE_LANDING_DIR", "CLIENTBASE_FAULT_POINT"):
        monkeypatch.delenv(key, raising=False)
    (data / "raw" / "crm" / "contacts" / "partition_date=2024-01-01").mkdir(parents=True)
    (data / "exports").mkdir()
    con = duckdb.connect(str(data / "warehouse.duckdb"))
    con.execute("create schema intermediate")
    con.execute("create schema marts")
    con.execute(
        "create table intermediate.int_identifiers_resolved as select * from (values "
        "('email', 'anna@example.com', 'email:anna@example.com', 'c1'), "
        "('crm_contact_id', '101', 'crm_contact_id:101', 'c1'), "
        "('email', 'ivan@example.com', 'email:ivan@example.com', 'c2')) "
        "t(identifier_type, identifier_value, identifier, customer_id)"
    )
    con.execute(
        "create table intermediate.int_source_records_resolved as select * from (values "
        "('crm_contact', '101', 'crm_contact:101', 'c1')) "
        "t(record_type, record_id, source_record_id, customer_id)"
    )
    con.execute(
        "create table marts.dim_customers as select * from (values "
        "('c1', 'anna@example.com'), ('c2', 'ivan@example.com')) t(customer_id, email)"
    )
    con.execute(
        "copy (select * from (values ('101', ' Anna@Example.com'), ('102', 'ivan@example.com')) "
        "t(contact_id, email)) to "
        f"'{data}/raw/crm/contacts/partition_date=2024-01-01/part-0.parquet' (format parquet)"
    )
    con.close()
    (data / "exports" / "a-email-20240101.csv").write_text(
        "Email Address,Send Hour Local\nanna@example.com,10\nivan@example.com,11\n"
    )
    return data


def test_hostile_values_are_bound_not_interpolated(tiny):
    hostile = "x'); delete from marts.dim_customers; --"
    result = erasure.erase("email", hostile, republish=False)
    assert result.customers == 0 and result.before == {}
    con = duckdb.connect(str(tiny / "warehouse.duckdb"), read_only=True)
    assert con.execute("select count(*) from marts.dim_customers").fetchone()[0] == 2
    con.close()
    with pytest.raises(ValueError):
        erasure.erase("customer_id", "c1' or '1'='1", republish=False)
    with pytest.raises(ValueError):
        erasure.erase("email", "   ", republish=False)


def test_erasing_a_hand_made_customer_removes_only_them(tiny):
    result = erasure.erase("customer_id", "c1", republish=False)
    assert result.is_gone
    assert result.before == {
        "raw/crm/contacts": 1,
        "warehouse/intermediate.int_identifiers_resolved": 2,
        "warehouse/intermediate.int_source_records_resolved": 1,
        "warehouse/marts.dim_customers": 1,
        "exports/a-email-20240101.csv": 1,
    }
    con = duckdb.connect(str(tiny / "warehouse.duckdb"), read_only=True)
    assert con.execute("select customer_id from marts.dim_customers").fetchall() == [("c2",)]
    con.close()
    assert "ivan@example.com" in (tiny / "exports" / "a-email-20240101.csv").read_text()
    assert "anna" not in (tiny / "exports" / "a-email-20240101.csv").read_text()
    raw = tiny / "raw" / "crm" / "contacts" / "partition_date=2024-01-01" / "part-0.parquet"
    assert duckdb.sql(f"select contact_id from read_parquet('{raw}')").fetchall() == [("102",)]
    assert erasure.requests_for(tiny, "email", "ANNA@example.com ") == [result.request_id]


def test_erase_is_refused_while_a_build_step_writes_and_runs_after_it(tiny):
    """A build step (another process, as the Dagster step would be) holds the data folder:
    the erasure is refused with a clear message and changes nothing; once the step ends (here
    by kill -9, which must not leave a stale lock) the same erasure goes through."""
    import signal
    import sys
    import time

    from orchestration import locks

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from orchestration import locks\n"
            f"with locks.build_step(Path({str(tiny)!r}), 'dbt build'):\n"
            "    print('holding', flush=True); time.sleep(600)",
        ],
        cwd=REPO_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(locks.DataFolderBusy, match="a build is writing"):
            erasure.erase("customer_id", "c1", republish=False)
        assert not (tiny / "erasure" / "tombstones.csv").exists(), "a refused erasure wrote"
        con = duckdb.connect(str(tiny / "warehouse.duckdb"), read_only=True)
        assert con.execute("select count(*) from marts.dim_customers").fetchone()[0] == 2
        con.close()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    time.sleep(0.1)
    assert erasure.erase("customer_id", "c1", republish=False).is_gone


def test_a_build_step_waits_for_a_running_erasure(tiny):
    from orchestration import locks

    with (
        locks.exclusive(tiny, "erasure"),
        pytest.raises(locks.DataFolderBusy, match="held by erasure"),
        locks.build_step(tiny, "dbt build", wait_seconds=0.6),
    ):
        pass
    with (
        locks.build_step(tiny, "dbt build", wait_seconds=0.6),
        locks.build_step(tiny, "extraction of crm", wait_seconds=0.6),
    ):
        pass  # build steps share the folder
