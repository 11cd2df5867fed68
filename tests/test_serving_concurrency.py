"""A BI reader queries the serving catalogue in a loop while builds rewrite the warehouse and
publish again and again: it must never see an error, a half-published night or a mix of nights."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from orchestration import serving

GENERATIONS = 8

READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import duckdb

    catalogue, stop_file, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    reads, errors, inconsistent, builds = 0, [], [], set()
    while not stop_file.exists():
        try:
            # One connection per read: it pins one catalogue file, i.e. one night.
            con = duckdb.connect(str(catalogue), read_only=True)
            try:
                build_id, mart_count = con.execute(
                    "select build_id, mart_count from bi.build_info").fetchone()
                expected = con.execute(
                    "select mart, row_count, checksum from bi.build_marts order by mart"
                ).fetchall()
                generations = set()
                for mart, row_count, checksum in expected:
                    has_generation = con.execute(
                        "select count(*) from information_schema.columns where table_schema = "
                        "'bi' and table_name = ? and column_name = 'generation'", [mart]
                    ).fetchone()[0]
                    generation = "list(distinct generation)" if has_generation else "[]"
                    count, seen, gens = con.execute(
                        f'select count(*), coalesce(bit_xor(hash(t)), 0), {generation} '
                        f'from bi."{mart}" t').fetchone()
                    generations.update(gens)
                    if (count, seen) != (row_count, checksum):
                        inconsistent.append([build_id, mart, count, row_count])
                # Fabricated marts carry the generation that wrote them: all must agree.
                if len(expected) != mart_count or len(generations) > 1:
                    inconsistent.append([build_id, "generations", sorted(generations)])
                builds.add(build_id)
                reads += 1
            finally:
                con.close()
        except Exception as error:  # every error is a failure of the test, keep them all
            errors.append(f"{type(error).__name__}: {error}")
        time.sleep(0.01)
    out.write_text(json.dumps({"reads": reads, "errors": errors[:20],
                               "error_count": len(errors), "inconsistent": inconsistent[:20],
                               "builds": sorted(builds)}))
    """
)


def build_marts(warehouse: Path, generation: int, hold_seconds: float = 0.0) -> None:
    """Stand-in for a dbt build: rewrites every mart (sizes and values change per generation)
    while holding the warehouse's write lock, which would lock out any BI tool reading it."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("create schema if not exists marts")
        n = 200 + 37 * generation
        con.execute(
            f"""
            create or replace table marts.dim_customers as
            select 'c' || i as customer_id, 'person' || i || '@example.com' as email,
                   '+7495' || lpad(cast(i as varchar), 7, '0') as phone,
                   'Ivan' as first_name, {generation} as generation
            from range({n}) r(i)
            """
        )
        con.execute(
            f"""
            create or replace table marts.customer_rfm as
            select 'c' || i as customer_id, (i % 5) + 1 as recency_score,
                   round(i * 1.5 + {generation}, 2) as monetary, {generation} as generation
            from range({n // 2}) r(i)
            """
        )
        con.execute(
            f"""
            create or replace table marts.fct_orders as
            select 'shop-' || i as order_id, 'c' || (i % {n}) as customer_id,
                   timestamp '2026-01-01 00:00:00' + to_minutes(i) as ordered_at,
                   {generation} as generation
            from range({n * 3}) r(i)
            """
        )
        time.sleep(hold_seconds)
    finally:
        con.close()


@pytest.fixture
def paths(tmp_path, monkeypatch):
    monkeypatch.setenv("CLIENTBASE_PII_SALT", "test-salt")
    monkeypatch.delenv("CLIENTBASE_SERVE_PII", raising=False)
    return tmp_path / "warehouse.duckdb", tmp_path / "serving"


def test_reader_never_sees_errors_or_mixed_nights(paths, tmp_path):
    warehouse, serving_dir = paths
    build_marts(warehouse, 0)
    first = serving.publish(warehouse_path=warehouse, serving_dir=serving_dir, keep=3)
    catalogue = serving_dir / serving.CATALOGUE_NAME
    reader, stop_file, out = _start_reader(catalogue, tmp_path)
    published = [first.build_id]
    try:
        time.sleep(0.5)
        for generation in range(1, GENERATIONS):
            build_marts(warehouse, generation, hold_seconds=0.3)
            published.append(
                serving.publish(warehouse_path=warehouse, serving_dir=serving_dir, keep=3).build_id
            )
        time.sleep(0.5)
    finally:
        stop_file.touch()
        reader.wait(timeout=60)
    result = json.loads(out.read_text())
    assert result["error_count"] == 0, result["errors"]
    assert result["inconsistent"] == []
    assert result["reads"] >= 20
    # The reader really overlapped with several publishes, and only saw published builds.
    assert len(result["builds"]) >= 3
    assert set(result["builds"]) <= set(published)
    # Garbage collection kept the newest three nights only.
    remaining = sorted(p.name for p in (serving_dir / "snapshots").iterdir())
    assert remaining == sorted(published[-3:])
    assert all((serving_dir / "snapshots" / b / "clientbase.duckdb").exists() for b in remaining)


def test_reader_keeps_working_while_warehouse_is_locked(paths):
    """The working warehouse's write lock (a running build) never reaches BI readers."""
    warehouse, serving_dir = paths
    build_marts(warehouse, 1)
    result = serving.publish(warehouse_path=warehouse, serving_dir=serving_dir)
    writer = duckdb.connect(str(warehouse))
    try:
        # A BI tool pointed at the working warehouse would fail right here...
        with pytest.raises(duckdb.IOException, match="[Ll]ock"):
            _open_in_subprocess(warehouse)
        # ...while the serving catalogue answers.
        count = subprocess.run(
            [
                sys.executable,
                "-c",
                "import duckdb,sys; c=duckdb.connect(sys.argv[1], read_only=True);"
                "print(c.execute('select count(*) from bi.customer_rfm').fetchone()[0])",
                str(serving_dir / serving.CATALOGUE_NAME),
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    finally:
        writer.close()
    assert int(count) == next(m.row_count for m in result.marts if m.name == "customer_rfm")


def _start_reader(catalogue: Path, tmp_path: Path) -> tuple[subprocess.Popen, Path, Path]:
    stop_file, out = tmp_path / "stop", tmp_path / "reader.json"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(catalogue), str(stop_file), str(out)]
    )
    return reader, stop_file, out


REPO = Path(__file__).resolve().parent.parent


@pytest.mark.e2e
@pytest.mark.slow
def test_reader_during_a_real_dbt_build_and_publish(built_s, tmp_path, monkeypatch):
    """The real thing: `dbt build` of the whole project on the size-S raw zone (the session's
    build's, read-only) holds a warehouse's write lock for minutes while a reader keeps
    querying the published night."""
    monkeypatch.setenv("CLIENTBASE_PII_SALT", "test-salt")
    data = tmp_path / "data"
    data.mkdir()
    serving_dir = data / "serving"
    # Last night: whatever was published before (here a small fabricated warehouse).
    yesterday = tmp_path / "yesterday.duckdb"
    build_marts(yesterday, 1)
    first = serving.publish(warehouse_path=yesterday, serving_dir=serving_dir)
    reader, stop_file, out = _start_reader(serving_dir / serving.CATALOGUE_NAME, tmp_path)
    env = {
        **os.environ,
        "CLIENTBASE_DATA_DIR": str(built_s.data_dir),
        "CLIENTBASE_WAREHOUSE": str(data / "warehouse.duckdb"),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
    try:
        build = subprocess.run(
            [str(Path(sys.executable).parent / "dbt"), "build", "--profiles-dir", str(REPO)],
            cwd=REPO / "dbt_project", env=env, capture_output=True, text=True, timeout=1800,
        )  # fmt: skip
        assert build.returncode == 0, build.stdout[-4000:]
        tonight = serving.publish(
            warehouse_path=data / "warehouse.duckdb",
            serving_dir=serving_dir,
            run_results_path=tmp_path / "target" / "run_results.json",
        )
        time.sleep(1.0)
    finally:
        stop_file.touch()
        reader.wait(timeout=120)
    result = json.loads(out.read_text())
    assert result["error_count"] == 0, result["errors"]
    assert result["inconsistent"] == []
    assert result["builds"] == sorted([first.build_id, tonight.build_id])
    assert result["reads"] >= 50
    names = {m.name for m in tonight.marts}
    assert {"dim_customers", "customer_rfm", "fct_orders", "sendable_audience"} <= names


def _open_in_subprocess(path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", f"import duckdb; duckdb.connect({str(path)!r}, read_only=True)"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise duckdb.IOException(proc.stderr.strip().splitlines()[-1])
