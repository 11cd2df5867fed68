"""Data tests of run-stamped models check the rows written since they last passed
(dbt_project/macros/cross_db/data_tests_since_last_pass.sql), on a copy of the session's real
size-S build: what a night's tests see, what they catch, and what stays under test after a
failure."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

UNIQUE = "test.clientbase.unique_fct_orders_order_id."
NOT_NULL = "test.clientbase.not_null_fct_orders_sales_channel."


def _statuses(env: dict) -> dict[str, str]:
    results = json.loads((Path(env["DBT_TARGET_PATH"]) / "run_results.json").read_text())
    return {r["unique_id"]: r["status"] for r in results["results"]}


def _status(statuses: dict[str, str], prefix: str) -> str:
    (status,) = [s for unique_id, s in statuses.items() if unique_id.startswith(prefix)]
    return status


def _passes(warehouse: str) -> dict[str, object]:
    with duckdb.connect(warehouse, read_only=True) as con:
        rows = con.execute("select test_id, passed_stamp from audit.data_test_passes").fetchall()
    return dict(rows)


@pytest.fixture(scope="module")
def copy_env(built_s, tmp_path_factory: pytest.TempPathFactory) -> dict:
    return built_s.private_copy(tmp_path_factory.mktemp("test_windows"))


def test_the_build_recorded_the_passes_of_windowable_tests_only(copy_env) -> None:
    passes = _passes(copy_env["CLIENTBASE_WAREHOUSE"])
    assert any(t.startswith(UNIQUE) for t in passes)
    assert any(t.startswith("test.clientbase.not_null_stg_web__events_event_id.") for t in passes)
    # relationships stay whole (a deleted parent orphans old rows); so do the tests of models
    # rebuilt every night and of models that carry their inputs' stamps, and custom tests
    assert not [t for t in passes if ".relationships_" in t]
    assert not [t for t in passes if "customer_rfm" in t or "contact_hygiene" in t]
    assert not [t for t in passes if "int_identifiers_unioned" in t]
    assert not [t for t in passes if "rate_below" in t or "adds_up" in t]


def test_a_night_checks_new_rows_against_the_whole_table_until_they_pass(built_s, copy_env) -> None:
    warehouse = copy_env["CLIENTBASE_WAREHOUSE"]
    before = _passes(warehouse)
    with duckdb.connect(warehouse) as con:
        # a run-stamped duplicate of a held order (a row a later run wrote), and a held order
        # whose channel is emptied in place without a new stamp (outside the contract)
        con.execute(
            "insert into marts.fct_orders select * replace (now()::timestamp as _staged_at) "
            "from marts.fct_orders where order_id = (select min(order_id) from marts.fct_orders)"
        )
        con.execute(
            "update marts.fct_orders set sales_channel = null "
            "where order_id = (select max(order_id) from marts.fct_orders)"
        )
    select = ["--select", "fct_orders,test_type:generic", "--exclude", "test_name:relationships"]

    first = built_s.dbt(copy_env, "test", *select)
    statuses = _statuses(copy_env)
    assert first.returncode == 1, first.stdout[-3000:]
    # the new row's key is counted over the whole table: the held copy makes it a duplicate
    assert _status(statuses, UNIQUE) == "fail"
    # the row changed without a stamp is not looked at...
    assert _status(statuses, NOT_NULL) == "pass"
    compiled = next(
        (Path(copy_env["DBT_TARGET_PATH"]) / "compiled").rglob("unique_fct_orders_order_id.sql")
    ).read_text()
    assert "_staged_at > cast(" in compiled
    # ...a failed test keeps its watermark, so the duplicate stays under test the next night
    after = _passes(warehouse)
    unique_id = next(t for t in before if t.startswith(UNIQUE))
    assert after[unique_id] == before[unique_id]
    second = built_s.dbt(copy_env, "test", *select)
    assert second.returncode == 1 and _status(_statuses(copy_env), UNIQUE) == "fail"

    # the whole check sees both
    whole = built_s.dbt(copy_env, "test", *select, "--vars", '{"data_tests_whole": true}')
    statuses = _statuses(copy_env)
    assert whole.returncode == 1
    assert _status(statuses, UNIQUE) == "fail" and _status(statuses, NOT_NULL) == "fail"
    compiled = next(
        (Path(copy_env["DBT_TARGET_PATH"]) / "compiled").rglob("unique_fct_orders_order_id.sql")
    ).read_text()
    assert "_staged_at" not in compiled

    # fixed, it passes and moves its watermark to that run
    with duckdb.connect(warehouse) as con:
        con.execute(
            "delete from marts.fct_orders where _staged_at = (select max(_staged_at) "
            "from marts.fct_orders) and order_id = (select min(order_id) from marts.fct_orders)"
        )
    fixed = built_s.dbt(copy_env, "test", "--select", "unique_fct_orders_order_id")
    assert fixed.returncode == 0, fixed.stdout[-3000:]
    assert _passes(warehouse)[unique_id] > before[unique_id]
