"""The project's `unique` data test on DuckDB (dbt_project/macros/cross_db/test_unique.sql) must
return exactly the rows of dbt's own: it only changes how duplicates are looked for. On a
run-stamped model whose test passed before, it returns the duplicates that involve a row written
since (data_tests_since_last_pass.sql): all of them, when the rows held before were unique."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import SimpleNamespace

import dbt.include.global_project as dbt_global_project
import duckdb
import jinja2
import pytest

REPO_DIR = Path(__file__).resolve().parents[1]
OURS = REPO_DIR / "dbt_project" / "macros" / "cross_db" / "test_unique.sql"
DBTS = Path(dbt_global_project.__file__).parent / "macros" / "generic_test_sql" / "unique.sql"


def _render(
    macro_file: Path, macro_name: str, model: str, column_name: str, window: str | None = None
) -> str:
    template = jinja2.Environment().from_string(
        macro_file.read_text() + "{{ " + macro_name + "(model, column_name) }}"
    )
    # the window of the test being rendered, as data_tests_since_last_pass.sql would give it
    clientbase = SimpleNamespace(data_test_window=lambda: window)
    return template.render(model=model, column_name=column_name, clientbase=clientbase)


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    # 200k distinct md5 keys, three of them held twice or three times, and nulls (never failures)
    con.execute(
        """
        create table keys as
        select md5(cast(i as varchar)) as key_id, i % 7 as small_key
        from range(200000) as t(i)
        union all select md5('17'), 1
        union all select md5('42'), 2
        union all select md5('42'), 3
        union all select md5('99999'), 4
        union all select null, null
        union all select null, 5
        """
    )
    return con


@pytest.mark.parametrize("column_name", ["key_id", "small_key", "key_id || '|' || small_key"])
def test_same_failures_as_dbts_unique_test(con, column_name: str) -> None:
    ours = con.execute(
        _render(OURS, "duckdb__test_unique", "keys", column_name) + " order by 1"
    ).fetchall()
    dbts = con.execute(
        _render(DBTS, "default__test_unique", "keys", column_name) + " order by 1"
    ).fetchall()
    assert ours == dbts


def test_reports_each_duplicate_with_its_count(con) -> None:
    rows = con.execute(_render(OURS, "duckdb__test_unique", "keys", "key_id")).fetchall()
    md5 = {value: hashlib.md5(value.encode()).hexdigest() for value in ("17", "42", "99999")}
    assert sorted(rows) == sorted([(md5["17"], 2), (md5["42"], 3), (md5["99999"], 2)])


def test_unique_column_passes(con) -> None:
    distinct_keys = "(select md5(cast(i as varchar)) as key_id from range(50000) as t(i))"
    sql = _render(OURS, "duckdb__test_unique", distinct_keys, "key_id")
    assert con.execute(sql).fetchall() == []


@pytest.fixture(scope="module")
def stamped(con) -> str:
    """The keys table as a run-stamped model: the rows of the last run (_staged_at 2) are the
    duplicates' second copies and one new key; every first copy was held before (stamp 1)."""
    con.execute(
        """
        create table stamped as
        select key_id, 1 as _staged_at from (select distinct key_id from keys)
        union all select md5('17'), 2
        union all select md5('42'), 2
        union all select md5('42'), 2
        union all select md5('new'), 2
        union all select null, 2
        """
    )
    return "stamped"


def test_windowed_finds_every_duplicate_with_a_new_row(con, stamped) -> None:
    windowed = _render(OURS, "duckdb__test_unique", stamped, "key_id", window="_staged_at > 1")
    assert "_staged_at > 1" in windowed
    whole = _render(OURS, "duckdb__test_unique", stamped, "key_id")
    md5 = {value: hashlib.md5(value.encode()).hexdigest() for value in ("17", "42")}
    expected = sorted([(md5["17"], 2), (md5["42"], 3)])
    # counted over the whole table, not only over the new rows (where 17 is held once)
    assert sorted(con.execute(windowed).fetchall()) == expected
    assert sorted(con.execute(whole).fetchall()) == expected


def test_windowed_passes_when_the_new_rows_repeat_nothing(con, stamped) -> None:
    sql = _render(OURS, "duckdb__test_unique", stamped, "key_id", window="_staged_at > 2")
    assert con.execute(sql).fetchall() == []


def test_every_value_repeated_matches_dbts(con) -> None:
    """Runs of equal hashes longer than two, side by side in hash order: each value reported
    once, with its count (the sort-based first pass sees a value's hash repeated n - 1 times)."""
    repeated = (
        "(select md5(cast(i % 1000 as varchar)) as key_id "
        "from range(5000 + 3) as t(i))"
    )
    ours = con.execute(
        _render(OURS, "duckdb__test_unique", repeated, "key_id") + " order by 1"
    ).fetchall()
    dbts = con.execute(
        _render(DBTS, "default__test_unique", repeated, "key_id") + " order by 1"
    ).fetchall()
    assert len(ours) == 1000
    assert {count for _, count in ours} == {5, 6}
    assert ours == dbts
