"""Compaction of deleted rows (dbt_project/macros/cross_db/compact_deleted_rows.sql), on a copy
of the session's size-S build: the build's checkpoints do not vacuum, and the on-run-end hook
compacts the tables whose deleted rows reached var('compaction_deleted_share'), without
changing a row."""

from __future__ import annotations

import duckdb
import pytest

# 1M rows: nine row groups, so a vacuum has row groups to merge
SCATTERED = "marts.zz_compaction_scattered"
FEW = "marts.zz_compaction_few"


def _stored_and_live(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int]:
    schema, name = table.split(".")
    (stored,) = con.execute(
        "select estimated_size from duckdb_tables() where schema_name = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    (live,) = con.execute(f"select count(*) from {table}").fetchone()
    return stored, live


def _content(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int]:
    return con.execute(f"select count(*), bit_xor(hash(t)) from {table} t").fetchone()


@pytest.fixture(scope="module")
def copy_env(built_s, tmp_path_factory: pytest.TempPathFactory) -> dict:
    env = built_s.private_copy(tmp_path_factory.mktemp("compaction"))
    with duckdb.connect(env["CLIENTBASE_WAREHOUSE"]) as con:
        # as the build leaves them: deleted rows written by a checkpoint that does not vacuum
        con.execute("set max_vacuum_tasks = 0")
        for table in (SCATTERED, FEW):
            con.execute(
                f"create table {table} as select i as id, md5(cast(i as varchar)) as value "
                "from range(1000000) as r (i)"
            )
        con.execute(f"delete from {SCATTERED} where hash(id) % 10 < 4")
        con.execute(f"delete from {FEW} where hash(id) % 10 = 0")
        con.execute("checkpoint")
    return env


def test_the_build_checkpoints_without_vacuuming(built_s, copy_env) -> None:
    shown = built_s.dbt(
        copy_env,
        "show",
        "--inline",
        "select current_setting('max_vacuum_tasks') as vacuum_tasks",
        "--output",
        "json",
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert '"vacuum_tasks": 0' in shown.stdout, shown.stdout


def test_the_hook_compacts_tables_over_the_share_and_changes_no_row(built_s, copy_env) -> None:
    warehouse = copy_env["CLIENTBASE_WAREHOUSE"]
    with duckdb.connect(warehouse, read_only=True) as con:
        scattered_before, few_before = _stored_and_live(con, SCATTERED), _stored_and_live(con, FEW)
        contents_before = _content(con, SCATTERED), _content(con, FEW)
    # 40% and 10% of the stored rows are deleted
    assert scattered_before[0] == 1000000 and 0.38 < 1 - scattered_before[1] / 1000000 < 0.42
    assert few_before[0] == 1000000 and 0.08 < 1 - few_before[1] / 1000000 < 0.12

    done = built_s.dbt(copy_env, "run-operation", "compact_deleted_rows")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f'compacting "marts"."{SCATTERED.split(".")[1]}"' in done.stdout, done.stdout
    assert SCATTERED.split(".")[1] in done.stdout and FEW.split(".")[1] not in done.stdout

    with duckdb.connect(warehouse, read_only=True) as con:
        scattered_after, few_after = _stored_and_live(con, SCATTERED), _stored_and_live(con, FEW)
        contents_after = _content(con, SCATTERED), _content(con, FEW)
        (vacuum_tasks,) = con.execute("select current_setting('max_vacuum_tasks')").fetchone()
    assert contents_after == contents_before
    # most deleted rows of the table over the share are reclaimed (DuckDB merges runs of row
    # groups whose remaining rows fit in fewer: here ~74% of them); the other keeps its own
    deleted_before = scattered_before[0] - scattered_before[1]
    assert scattered_after[1] == scattered_before[1]
    assert scattered_after[0] - scattered_after[1] < 0.5 * deleted_before
    assert few_after == few_before
    # a new connection gets DuckDB's default again: the setting lives in the dbt profile
    assert vacuum_tasks == 100
