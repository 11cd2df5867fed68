"""The benchmark's measuring helpers: what they report must be what happened, or the profiles
in benchmarks/README.md would mislead (they are not timed here)."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import namedtuple
from pathlib import Path

import duckdb
import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _event(name: str, thread: str, data: dict) -> str:
    return json.dumps({"data": data, "info": {"name": name, "thread": thread}})


def test_statement_seconds_pairs_each_query_with_its_status_on_the_same_thread(tmp_path):
    night = _load("night_work_alone")
    model = {"unique_id": "model.clientbase.customer_traits"}
    other = {"unique_id": "model.clientbase.dim_customers"}
    test = {"unique_id": "test.clientbase.unique_dim_customers_customer_id.abc"}
    lines = [
        _event("SQLQuery", "t0", {"node_info": model,
                                  "sql": "/* dbt */\ncreate  table x as (select 1)"}),
        # the other thread's statements interleave: each status belongs to its own thread's query
        _event("SQLQuery", "t1", {"node_info": other, "sql": "-- note\ndelete from y where true"}),
        _event("SQLQueryStatus", "t1", {"elapsed": 2.5}),
        _event("SQLQuery", "t1", {"node_info": other,
                                  "sql": "create temporary table y__tmp as (select 2)"}),
        _event("SQLQueryStatus", "t0", {"elapsed": 4.0}),
        _event("SQLQueryStatus", "t1", {"elapsed": 1.5}),
        _event("SQLQuery", "t0", {"node_info": test, "sql": "select count(*) from z"}),
        _event("SQLQueryStatus", "t0", {"elapsed": 0.25}),
        _event("MainReportVersion", "t0", {"version": "1.11"}),
    ]
    (tmp_path / "dbt.log").write_text("\n".join(lines) + "\n")

    by_kind, by_model = night.statement_seconds(tmp_path)

    assert {kind: tuple(v) for kind, v in by_kind.items()} == {
        "model body (table)": (1, 4.0),
        "delete": (1, 2.5),
        "model body (temp table)": (1, 1.5),
        "test query": (1, 0.25),
    }
    assert dict(by_model["customer_traits"]) == {"model body (table)": 4.0}
    assert dict(by_model["dim_customers"]) == {"delete": 2.5, "model body (temp table)": 1.5}
    assert "unique_dim_customers_customer_id" not in by_model


def test_replay_skips_views_and_times_every_test(tmp_path):
    night = _load("night_work_alone")
    warehouse = tmp_path / "w.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create table t as select range as id from range(10)")
    con.execute("create view v as select * from t")
    results = [
        {"unique_id": "model.p.t", "relation_name": '"w"."main"."t"',
         "compiled_code": "select * from t", "execution_time": 3.0},
        {"unique_id": "model.p.v", "relation_name": '"w"."main"."v"',
         "compiled_code": "select * from t", "execution_time": 0.1},
        {"unique_id": "test.p.unique_t_id.1", "execution_time": 2.0,
         "compiled_code": "select id from t group by id having count(*) > 1"},
    ]
    models = night.replay(con, results, "model")
    tests = night.replay(con, results, "test")
    assert [(node_seconds, uid) for _, node_seconds, uid in models] == [(3.0, "model.p.t")]
    assert [(node_seconds, uid) for _, node_seconds, uid in tests] == [
        (2.0, "test.p.unique_t_id.1")
    ]


def test_cpu_busy_share_counts_idle_and_iowait_as_not_busy():
    run = _load("run")
    times = namedtuple("scputimes", "user system idle iowait")
    before = times(100.0, 20.0, 80.0, 0.0)
    after = times(160.0, 40.0, 95.0, 5.0)  # 100 s elapsed over all cores: 80 busy, 20 idle
    assert run.cpu_busy_share(before, after) == pytest.approx(0.8)
    assert run.cpu_busy_share(before, before) is None
