"""The `sync` incremental strategy (dbt_project/macros/cross_db/incremental_sync.sql): after it,
the stored table holds exactly the computed rows, and only the rows that differ were written.

The strategy's SQL is rendered as dbt renders it for the materialisation (the relations and the
stored table's columns) and run on DuckDB; DuckDB's rowid tells a row left in place from a row
written again."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import duckdb
import jinja2
import pytest

MACROS = Path(__file__).resolve().parents[1] / "dbt_project" / "macros" / "cross_db"


@dataclass
class Column:
    name: str

    @property
    def quoted(self) -> str:
        return f'"{self.name}"'


class CompilerError(Exception):
    pass


class Exceptions:
    @staticmethod
    def raise_compiler_error(message: str):
        raise CompilerError(message)


def _sync_sql(con: duckdb.DuckDBPyConnection, target: str, computed: str, unique_key) -> str:
    columns = [
        Column(row[0])
        for row in con.execute(
            "select column_name from duckdb_columns() where table_name = ? order by column_index",
            [target],
        ).fetchall()
    ]
    # the macros call each other as clientbase.<macro>, as dbt's project namespace resolves them
    clientbase = SimpleNamespace()
    environment = jinja2.Environment()
    environment.globals.update(clientbase=clientbase, exceptions=Exceptions)
    macros = environment.from_string((MACROS / "incremental_sync.sql").read_text()).module
    clientbase.sync_keys_equal = macros.sync_keys_equal
    return str(
        macros.get_incremental_sync_sql(
            {
                "target_relation": target,
                "temp_relation": computed,
                "unique_key": unique_key,
                "dest_columns": columns,
                "incremental_predicates": None,
            }
        )
    )


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return sorted(con.execute(f"select * from {table}").fetchall(), key=repr)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        """
        create table stored as
        select * from (values
            ('a', 1, null::varchar, 10.50::decimal(18, 2)),   -- unchanged, with a null
            ('b', 2, 'x', 20.00::decimal(18, 2)),              -- unchanged
            ('c', 3, 'y', 30.00::decimal(18, 2)),              -- its amount changes
            ('d', 4, null, 40.00::decimal(18, 2)),             -- a null becomes a value
            ('e', 5, 'z', 50.00::decimal(18, 2))               -- gone from the result
        ) as t(id, n, label, amount)
        """
    )
    con.execute(
        """
        create temp table computed as
        select * from (values
            ('a', 1, null::varchar, 10.50::decimal(18, 2)),
            ('b', 2, 'x', 20.00::decimal(18, 2)),
            ('c', 3, 'y', 30.01::decimal(18, 2)),
            ('d', 4, 'w', 40.00::decimal(18, 2)),
            ('f', 6, null, 60.00::decimal(18, 2))             -- new
        ) as t(id, n, label, amount)
        """
    )
    return con


def test_the_table_ends_as_the_computed_rows(con) -> None:
    con.execute(_sync_sql(con, "stored", "computed", "id"))
    assert _rows(con, "stored") == _rows(con, "computed")


def test_only_the_differing_rows_are_written(con) -> None:
    before = dict(con.execute("select id, rowid from stored").fetchall())
    con.execute(_sync_sql(con, "stored", "computed", "id"))
    after = dict(con.execute("select id, rowid from stored").fetchall())
    kept = {key for key in after if before.get(key) == after[key]}
    assert kept == {"a", "b"}
    assert set(after) == {"a", "b", "c", "d", "f"}


def test_a_second_run_with_the_same_result_writes_nothing(con) -> None:
    con.execute(_sync_sql(con, "stored", "computed", "id"))
    before = sorted(con.execute("select id, rowid from stored").fetchall())
    con.execute(_sync_sql(con, "stored", "computed", "id"))
    assert sorted(con.execute("select id, rowid from stored").fetchall()) == before


def test_a_composite_key(con) -> None:
    con.execute("update computed set n = 7 where id = 'b'")  # same id, other key: a new row
    con.execute(_sync_sql(con, "stored", "computed", ["id", "n"]))
    assert _rows(con, "stored") == _rows(con, "computed")


def test_an_empty_result_empties_the_table(con) -> None:
    con.execute("delete from computed")
    con.execute(_sync_sql(con, "stored", "computed", "id"))
    assert _rows(con, "stored") == []


def test_a_unique_key_is_required(con) -> None:
    with pytest.raises(CompilerError, match="needs a unique_key"):
        _sync_sql(con, "stored", "computed", None)
