"""Incremental nights are exact: loading the last days night by night gives the same marts, row
for row, as a full rebuild of the same landing data (size S).

Nights run the way the nightly job does, without Dagster's bookkeeping: the extraction core loads
the new day partitions, the contact-point checks are rewritten, and one dbt invocation builds
every model with the var the nightly passes (`as_of_date` = day after the partition). dbt tests
are left out (other test files run them): they do not change what the models write.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from orchestration.config import DBT_PROJECT_DIR, REPO_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# two nights, so the second one also runs on a warehouse an incremental night left behind
NIGHTS = 2

# Ledgers hold one row per build: a rebuild cannot have the nights' history. Their latest row
# is compared on the columns that describe the data, not the build.
LEDGERS = {
    "hygiene_daily": ("build_date", {"built_at"}),
    "identity_graph_health": (
        "built_at",
        {
            "build_id",
            "built_at",
            "merge_count",
            "split_count",
            "id_changed_count",
            "previous_customer_count",
            "customer_count_change_share",
            # the work of this build's components step: an incremental night contracts only
            # the new edges, so it needs fewer rounds than a full recompute
            "component_rounds",
        },
    ),
}
# What changed between builds: empty by definition after a first (full) build.
CHANGE_LOGS = {"identity_changes"}
# Columns that say which build or run wrote a row (customer_identity_edges is kept by record and
# stamps each row with the run that computed it).
BUILD_COLUMNS = {"build_id", "built_at", "_staged_at"}


def _env(root: Path, landing: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "CLIENTBASE_DATA_DIR": str(root / "data"),
            "CLIENTBASE_LANDING_DIR": str(landing),
            # one target folder for all builds: same vars → dbt's partial parsing is reused
            "DBT_TARGET_PATH": str(root.parent / "target"),
            "DBT_LOG_PATH": str(root.parent / "logs"),
        }
    )
    return env


def _night(root: Path, landing: Path, days: list[str]) -> str:
    """Load `days` into root's raw zone and build every model as of the day after the last;
    returns dbt's output."""
    from orchestration.assets.contact_points import write_contact_point_checks
    from orchestration.extraction.__main__ import extract_all

    raw = root / "data" / "raw"
    results = extract_all(landing, raw, days=days)
    assert all(r.is_conserved for r in results)
    write_contact_point_checks(raw)
    as_of = (date.fromisoformat(days[-1]) + timedelta(days=1)).isoformat()
    dbt = Path(sys.executable).with_name("dbt")
    command = [
        str(dbt),
        "build",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(REPO_DIR),
        "--exclude",
        "resource_type:test",
        "resource_type:unit_test",
        "--vars",
        json.dumps({"as_of_date": as_of}),
    ]
    result = subprocess.run(
        command,
        env=_env(root, landing),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, f"dbt build as of {as_of} failed:\n{result.stdout[-4000:]}"
    return result.stdout


def _run_models(
    root: Path, landing: Path, tmp_path: Path, *models: str, full_refresh: bool = False
) -> subprocess.CompletedProcess:
    """`dbt run --select models` on root's warehouse (a copy a test changed); fails on an error."""
    env = _env(root, landing)
    env["DBT_TARGET_PATH"] = str(tmp_path / "target")
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            "run",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(REPO_DIR),
            *(["--full-refresh"] if full_refresh else []),
            "--select",
            *models,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    return result


def _days(landing: Path) -> list[str]:
    from orchestration.extraction.loader import landing_window_days

    return landing_window_days(landing)


@pytest.fixture(scope="module")
def warehouses(shared_s_landing: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("incremental")
    days = _days(shared_s_landing)
    nightly, rebuilt = root / "nightly", root / "rebuilt"
    # the held-back state: everything but the last NIGHTS days, built as that night would have
    _night(nightly, shared_s_landing, days[:-NIGHTS])
    night_logs = [_night(nightly, shared_s_landing, [day]) for day in days[-NIGHTS:]]
    _night(rebuilt, shared_s_landing, days)
    return {
        "night_logs": night_logs,
        "nightly": nightly / "data" / "warehouse.duckdb",
        "rebuilt": rebuilt / "data" / "warehouse.duckdb",
        "days": days,
    }


def _nightly_copy(warehouses: dict, root: Path) -> Path:
    """A copy of the nightly warehouse's data folder under root/data, for a test to change."""
    shutil.copytree(warehouses["nightly"].parent, root / "data")
    return root


def _connect(warehouses: dict) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"attach '{warehouses['nightly']}' as nightly (read_only)")
    con.execute(f"attach '{warehouses['rebuilt']}' as rebuilt (read_only)")
    return con


def _marts(con: duckdb.DuckDBPyConnection, catalog: str) -> set[str]:
    return {
        row[0]
        for row in con.execute(
            "select table_name from duckdb_tables() where database_name = ? and schema_name = "
            "'marts'",
            [catalog],
        ).fetchall()
    }


def _columns(con: duckdb.DuckDBPyConnection, table: str, skip: set[str]) -> list[str]:
    rows = con.execute(
        "select column_name from duckdb_columns() where database_name = 'rebuilt' and "
        "schema_name = 'marts' and table_name = ? order by column_index",
        [table],
    ).fetchall()
    return [f'"{r[0]}"' for r in rows if r[0] not in skip]


def test_same_marts(warehouses: dict) -> None:
    con = _connect(warehouses)
    assert _marts(con, "nightly") == _marts(con, "rebuilt")
    assert "fct_orders" in _marts(con, "rebuilt")


def test_every_mart_row_for_row(warehouses: dict) -> None:
    con = _connect(warehouses)
    differences = {}
    compared = 0
    for table in sorted(_marts(con, "rebuilt") - set(LEDGERS) - CHANGE_LOGS):
        columns = ", ".join(_columns(con, table, BUILD_COLUMNS))
        counts = con.execute(
            f"select (select count(*) from nightly.marts.{table}),"
            f" (select count(*) from rebuilt.marts.{table}),"
            f" (select count(*) from (select {columns} from nightly.marts.{table} except all"
            f"  select {columns} from rebuilt.marts.{table})),"
            f" (select count(*) from (select {columns} from rebuilt.marts.{table} except all"
            f"  select {columns} from nightly.marts.{table}))"
        ).fetchone()
        compared += 1
        if counts[2] or counts[3] or counts[0] != counts[1]:
            differences[table] = {
                "nightly_rows": counts[0],
                "rebuilt_rows": counts[1],
                "only_nightly": counts[2],
                "only_rebuilt": counts[3],
            }
    assert compared >= 10
    assert not differences, differences


def test_fact_tables_hold_the_last_night(warehouses: dict) -> None:
    # guards the comparison above against two equally empty or equally stale warehouses
    con = _connect(warehouses)
    last = warehouses["days"][-1]
    rows = con.execute(
        "select count(*), max(ordered_date) from nightly.marts.fct_orders"
    ).fetchone()
    assert rows[0] > 1000
    assert rows[1].isoformat() >= (date.fromisoformat(last) - timedelta(days=1)).isoformat()


@pytest.mark.parametrize("ledger", sorted(LEDGERS))
def test_ledgers_latest_row(warehouses: dict, ledger: str) -> None:
    order_column, skip = LEDGERS[ledger]
    con = _connect(warehouses)
    columns = ", ".join(_columns(con, ledger, skip))
    latest = {}
    for catalog in ("nightly", "rebuilt"):
        latest[catalog] = con.execute(
            f"select {columns} from {catalog}.marts.{ledger} order by {order_column} desc limit 1"
        ).fetchone()
    assert latest["nightly"] == latest["rebuilt"]
    nights = con.execute(f"select count(*) from nightly.marts.{ledger}").fetchone()[0]
    assert nights == NIGHTS + 1, "one row per build"


def test_nights_update_the_identity_graph_incrementally(warehouses: dict) -> None:
    # the equality tests above then prove the incremental components path exact, not only the
    # full recompute (on these nights no edge of the day before disappears)
    for log in warehouses["night_logs"]:
        assert "int_identity_components: incremental update:" in log
        assert "connected components in" in log and "(incremental)" in log


SUMMARIES = {
    "int_web_identifier_sets": ("stg_web__events", "identifier_set_id"),
    "int_message_addresses_summarised": ("stg_messaging__events", "address_event_type_id"),
}


def test_nights_merge_the_event_summaries(warehouses: dict) -> None:
    # a night merges the aggregates of its events into last night's summaries, and those are
    # the summaries a rebuild computes (load times and run stamps aside: the two warehouses were
    # loaded and built apart)
    for log in warehouses["night_logs"]:
        assert "recomputing the summary" not in log
    con = _connect(warehouses)
    for summary, (events, key) in SUMMARIES.items():
        columns = ", ".join(
            r[0]
            for r in con.execute(
                "select column_name from duckdb_columns() where database_name = 'rebuilt' and "
                "table_name = ? and column_name not in ('_loaded_at', '_staged_at') "
                "order by column_index",
                [summary],
            ).fetchall()
        )
        assert key in columns
        for left, right in (("nightly", "rebuilt"), ("rebuilt", "nightly")):
            only = con.execute(
                f"select count(*) from (select {columns} from {left}.intermediate.{summary} "
                f"except all select {columns} from {right}.intermediate.{summary})"
            ).fetchone()[0]
            assert only == 0, f"{summary}: {only} rows only in {left}"
        summarised, logged = con.execute(
            f"select (select sum(observation_count) from nightly.intermediate.{summary}), "
            f"(select count(*) from nightly.staging.{events})"
        ).fetchone()
        assert summarised == logged > 0


def test_an_event_summary_recomputes_when_its_log_changed_behind_it(
    warehouses: dict, shared_s_landing: Path, tmp_path: Path
) -> None:
    # an event leaves the log but not the summary (as when an erasure or a replaced copy
    # changes staging behind it): the next run must not merge onto stale counts
    root = _nightly_copy(warehouses, tmp_path / "changed")
    with duckdb.connect(str(root / "data" / "warehouse.duckdb")) as con:
        con.execute(
            "delete from staging.stg_web__events where event_id = "
            "(select min(event_id) from staging.stg_web__events)"
        )
    result = _run_models(root, shared_s_landing, tmp_path, "int_web_identifier_sets")
    assert "recomputing the summary from all events" in result.stdout
    with duckdb.connect(str(root / "data" / "warehouse.duckdb"), read_only=True) as con:
        summarised, logged = con.execute(
            "select (select sum(observation_count) from intermediate.int_web_identifier_sets), "
            "(select count(*) from staging.stg_web__events)"
        ).fetchone()
    assert summarised == logged


def _assert_intermediate_equal(
    con: duckdb.DuckDBPyConnection,
    model: str,
    skip: set[str],
    schema: str = "intermediate",
    key: str | None = None,
) -> None:
    """The nightly and the rebuilt `model` hold the same rows, `skip` aside (run stamps, and the
    integer keys each warehouse assigns in the order it first saw them)."""
    columns = ", ".join(
        f'"{r[0]}"'
        for r in con.execute(
            "select column_name from duckdb_columns() where database_name = 'rebuilt' and "
            "schema_name = ? and table_name = ? and not list_contains(?, column_name) "
            "order by column_index",
            [schema, model, sorted(skip)],
        ).fetchall()
    )
    keys = (f'"{key}"',) if key else ('"record_id"', '"identifier"', '"contact_point_key"')
    assert any(k in columns for k in keys), columns
    for left, right in (("nightly", "rebuilt"), ("rebuilt", "nightly")):
        only = con.execute(
            f"select count(*) from (select {columns} from {left}.{schema}.{model} "
            f"except all select {columns} from {right}.{schema}.{model})"
        ).fetchone()[0]
        assert only == 0, f"{model}: {only} rows only in {left}"


# Intermediate models synchronised with their computed rows (macros/cross_db/incremental_sync.sql):
# every night computes every row and writes only the rows that differ from the stored ones.
# (The synchronised mart, customer_rfm_monthly, is compared with every other mart above.)
SYNCHRONISED = {
    # stamps the rows it writes; an unchanged row keeps the stamp of the run that wrote it
    "int_consent_events_unioned": ("consent_event_id", {"_staged_at"}),
}


@pytest.mark.parametrize("model", sorted(SYNCHRONISED))
def test_synchronised_models_equal_a_rebuild(warehouses: dict, model: str) -> None:
    key, skip = SYNCHRONISED[model]
    for log in warehouses["night_logs"]:
        assert f"incremental model intermediate.{model} " in log, "not synchronised"
    con = _connect(warehouses)
    _assert_intermediate_equal(con, model, skip, key=key)


# Intermediate models kept by source record (macros/identity/identity_records_incremental.sql):
# a night recomputes the records staged since the newest stamp they hold and keeps the rest.
RECORD_KEPT = (
    "int_identifiers_unioned",
    "int_identity_edges_observed",
    "int_source_records_resolved",
)


@pytest.mark.parametrize("model", RECORD_KEPT)
def test_models_kept_by_record_equal_a_rebuild(warehouses: dict, model: str) -> None:
    # Run stamps differ by construction, and so do the integer keys: each warehouse numbered
    # its identifiers in the order it first saw them. An edge is compared by its
    # edge_record_id, the hash of its two identifiers and its record.
    con = _connect(warehouses)
    _assert_intermediate_equal(con, model, {"_staged_at", "identifier_key_a", "identifier_key_b"})
    _assert_rows_kept(con, f"intermediate.{model}")


def _assert_rows_kept(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """The nights kept the rows of unchanged records: `table`'s rows carry the stamps of several
    runs, where a rebuild (one run) stamps them all alike."""
    stamps = {
        catalog: con.execute(
            f"select count(distinct _staged_at) from {catalog}.{table}"
        ).fetchone()[0]
        for catalog in ("nightly", "rebuilt")
    }
    assert stamps == {"nightly": NIGHTS + 1, "rebuilt": 1}, table


def test_resolved_identifiers_equal_a_rebuild_and_keep_their_stamps(warehouses: dict) -> None:
    # int_identifiers_resolved writes only the identifiers whose row changed; its rows equal a
    # rebuild's (compared by identifier: the integer keys are each warehouse's own), and the
    # resolution stamp moved only for identifiers whose customer or exclusion changed
    con = _connect(warehouses)
    _assert_intermediate_equal(
        con, "int_identifiers_resolved", {"_resolution_changed_at", "_staged_at", "identifier_key"}
    )
    stamps = con.execute(
        "select count(distinct _resolution_changed_at), "
        "count(*) filter (where _resolution_changed_at = "
        "(select min(_resolution_changed_at) from nightly.intermediate.int_identifiers_resolved)), "
        "count(*) from nightly.intermediate.int_identifiers_resolved"
    ).fetchone()
    # every night moved some stamps, and most identifiers kept the first build's
    assert stamps[0] == NIGHTS + 1, stamps
    assert stamps[1] > stamps[2] / 2, stamps
    # the stamp follows the resolution, not the row: identifiers of the first build seen again
    # on a night (last_seen_at moved, so their row was rewritten) kept the first build's stamp
    # unless their customer or exclusion changed
    seen_again_unmoved = con.execute(
        "select count(*) from nightly.intermediate.int_identifiers_resolved "
        "where last_seen_at >= cast(? as date) and first_seen_at < cast(? as date) "
        "and _resolution_changed_at = "
        "(select min(_resolution_changed_at) from nightly.intermediate.int_identifiers_resolved)",
        [warehouses["days"][-NIGHTS], warehouses["days"][-NIGHTS]],
    ).fetchone()[0]
    assert seen_again_unmoved > 0


def test_a_record_that_lost_every_identifier_loses_its_rows(
    warehouses: dict, shared_s_landing: Path, tmp_path: Path
) -> None:
    # a new version of an order carries no identifier at all: no row of tonight replaces the
    # old ones, so they must go by the list of changed records, not by the rows written
    root = _nightly_copy(warehouses, tmp_path / "lost")
    warehouse = root / "data" / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        order_id, kept_rows = con.execute(
            "select record_id, count(*) from intermediate.int_identity_edges_observed "
            "where record_type = 'shop_order' group by record_id order by record_id limit 1"
        ).fetchone()
        assert kept_rows > 0
        before = con.execute(
            "select count(*) from intermediate.int_identifiers_unioned"
        ).fetchone()[0]
        lost = con.execute(
            "select count(*) from intermediate.int_identifiers_unioned "
            "where record_type = 'shop_order' and record_id = ?",
            [order_id],
        ).fetchone()[0]
        # the order's identifiers, with the records counted for them
        counts_before = dict(
            con.execute(
                f"select identifier, record_count from intermediate.{IDENTIFIERS} "
                "where (identifier_type, identifier_value) in (select (identifier_type, "
                "identifier_value) from intermediate.int_identifiers_unioned "
                "where record_type = 'shop_order' and record_id = ?)",
                [order_id],
            ).fetchall()
        )
        assert counts_before
        con.execute(
            "update staging.stg_shop__orders set user_id = null, anonymous_id = null, "
            "email = null, email_raw = null, is_email_valid = null, phone = null, "
            "phone_raw = null, is_phone_valid = null, "
            "_staged_at = _staged_at + interval 1 hour where order_id = ?",
            [order_id],
        )
    _run_models(root, shared_s_landing, tmp_path, *RECORD_KEPT, IDENTIFIERS)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        # no row of tonight names the order's identifiers: int_identifiers_numbered finds them
        # by their counts, which lost the order (an identifier only the order carried is gone)
        counts_after = dict(
            con.execute(
                f"select identifier, record_count from intermediate.{IDENTIFIERS} "
                "where list_contains(?, identifier)",
                [sorted(counts_before)],
            ).fetchall()
        )
        assert counts_after == {
            identifier: count - 1 for identifier, count in counts_before.items() if count > 1
        }
        for model in ("int_identifiers_unioned", "int_identity_edges_observed"):
            left = con.execute(
                f"select count(*) from intermediate.{model} "
                "where record_type = 'shop_order' and record_id = ?",
                [order_id],
            ).fetchone()[0]
            assert left == 0, f"{model} kept {left} rows of {order_id}"
        # the record itself stays, now with no identifier and no customer
        assert con.execute(
            "select customer_id, identifier_count from intermediate.int_source_records_resolved "
            "where record_type = 'shop_order' and record_id = ?",
            [order_id],
        ).fetchall() == [(None, 0)]
        after = con.execute("select count(*) from intermediate.int_identifiers_unioned").fetchone()[
            0
        ]
    # only that order's rows went: every other record was kept
    assert after == before - lost
    _assert_equals_a_rebuild(warehouse, shared_s_landing, tmp_path, IDENTIFIERS, "identifier")


def test_records_follow_their_identifiers_to_another_customer(
    warehouses: dict, shared_s_landing: Path, tmp_path: Path
) -> None:
    # no record changed, but one identifier now resolves to another customer (a merge or a split
    # does that): int_source_records_resolved recomputes the records carrying it, and only those
    root = _nightly_copy(warehouses, tmp_path / "moved")
    warehouse = root / "data" / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        # a CRM id: it decides its records' customer whenever it is graph-resolved
        identifier_type, identifier_value, customer_id = con.execute(
            "select identifier_type, identifier_value, customer_id "
            "from intermediate.int_identifiers_resolved "
            "where identifier_type = 'crm_contact_id' and resolution_method = 'graph' "
            "order by identifier_value limit 1"
        ).fetchone()
        carriers = {
            row[0]
            for row in con.execute(
                "select distinct record_type || ':' || record_id "
                "from intermediate.int_identifiers_unioned "
                "where identifier_type = ? and identifier_value = ?",
                [identifier_type, identifier_value],
            ).fetchall()
        }
        assert carriers
        before = dict(
            con.execute(
                "select source_record_id, customer_id from intermediate.int_source_records_resolved"
            ).fetchall()
        )
        assert {before[record] for record in carriers} == {customer_id}
        # the whole customer moves, as in a re-anchored merge
        con.execute(
            "update intermediate.int_identifiers_resolved set customer_id = 'moved', "
            "_resolution_changed_at = _resolution_changed_at + interval 1 day "
            "where customer_id = ?",
            [customer_id],
        )
    _run_models(root, shared_s_landing, tmp_path, "int_source_records_resolved")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        after = dict(
            con.execute(
                "select source_record_id, customer_id from intermediate.int_source_records_resolved"
            ).fetchall()
        )
        stamps = con.execute(
            "select count(distinct _staged_at) from intermediate.int_source_records_resolved"
        ).fetchone()[0]
    assert after.keys() == before.keys()
    moved = {record for record in after if after[record] != before[record]}
    assert carriers <= moved
    # only the customer's records moved, all of them to 'moved'
    assert {before[record] for record in moved} == {customer_id}
    assert {after[record] for record in moved} == {"moved"}
    assert {record for record, customer in before.items() if customer == customer_id} == moved
    assert stamps == NIGHTS + 2


ORDERS = "int_orders_unioned"
CONSENTS = "int_customer_consents_latest"
IDENTIFIERS = "int_identifiers_numbered"
ORDER_SUMMARIES = "int_customer_orders_summarised"
# Intermediate models kept by key like the dimensions: a pre-hook deletes the rows whose inputs
# changed since the newest stamp held and the body computes every key without a row. Compared
# by key, without the run stamps and the integer keys each warehouse assigns in its own order.
KEPT_BY_KEY = {
    ORDERS: "order_id",  # macros/sales/orders_incremental.sql
    CONSENTS: "customer_channel_id",  # macros/hygiene/consents_incremental.sql
    IDENTIFIERS: "identifier",  # macros/identity/dimensions_incremental.sql
    ORDER_SUMMARIES: "customer_id",  # macros/sales/customer_orders_incremental.sql
}
KEY_KEPT_SKIPPED = {"_staged_at", "identifier_key"}
CONSENT_HISTORY = "customer_consent_history"  # a mart, kept by customer like CONSENTS


def test_consent_history_is_kept_by_customer(warehouses: dict) -> None:
    # Equal to a rebuild (test_every_mart_row_for_row). A night recomputes the history of the
    # customers whose consent status it recomputed (those with events: a customer without
    # events has no history), and keeps every other customer's rows from earlier runs.
    for log in warehouses["night_logs"]:
        assert f"incremental model marts.{CONSENT_HISTORY} " in log, "not kept by customer"
    con = _connect(warehouses)
    first = con.execute(
        f"select min(_staged_at) from nightly.intermediate.{CONSENTS}"
    ).fetchone()[0]
    history = set(
        con.execute(
            f"select distinct _staged_at, customer_id from nightly.marts.{CONSENT_HISTORY} "
            "where _staged_at > ?",
            [first],
        ).fetchall()
    )
    recomputed = set(
        con.execute(
            f"select distinct _staged_at, customer_id from nightly.intermediate.{CONSENTS} "
            "where _staged_at > ? and customer_id in "
            "(select customer_id from nightly.intermediate.int_consent_events_unioned)",
            [first],
        ).fetchall()
    )
    assert history, "no night changed a consent history: nothing was tested"
    assert history == recomputed
    assert con.execute(
        f"select count(*) from nightly.marts.{CONSENT_HISTORY} where _staged_at = ?", [first]
    ).fetchone()[0] > 10 * len(history)


@pytest.mark.parametrize("model", sorted(KEPT_BY_KEY))
def test_intermediate_models_kept_by_key(warehouses: dict, model: str) -> None:
    # equal to a rebuild, row for row; a night recomputes the keys whose inputs changed and
    # keeps the others with earlier runs' stamps
    for log in warehouses["night_logs"]:
        assert f"incremental model intermediate.{model} " in log, "not kept by key"
    con = _connect(warehouses)
    _assert_intermediate_equal(con, model, KEY_KEPT_SKIPPED, key=KEPT_BY_KEY[model])
    _assert_rows_kept(con, f"intermediate.{model}")


def test_a_customer_that_lost_an_order_is_recomputed(
    warehouses: dict, shared_s_landing: Path, tmp_path: Path
) -> None:
    # an order gone from the facts (erased, or re-attributed to a customer this test leaves
    # out) leaves no stamped row behind: the customer's summary must go by its counts
    root = _nightly_copy(warehouses, tmp_path / "lost_order")
    warehouse = root / "data" / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        customer_id, orders, lines, order_id = con.execute(
            f"select s.customer_id, s.orders, s.order_line_count, max(o.order_id) "
            f"from intermediate.{ORDER_SUMMARIES} as s "
            "inner join marts.fct_orders as o on o.customer_id = s.customer_id "
            "where s.orders >= 2 and s.order_line_count >= 2 "
            "and o.order_id in (select order_id from marts.fct_order_lines) "
            "group by all order by s.customer_id limit 1"
        ).fetchone()
        lost_lines = con.execute(
            "select count(*) from marts.fct_order_lines where order_id = ?", [order_id]
        ).fetchone()[0]
        con.execute("delete from marts.fct_order_lines where order_id = ?", [order_id])
        con.execute("delete from marts.fct_orders where order_id = ?", [order_id])
        others = con.execute(
            f"select count(*) from intermediate.{ORDER_SUMMARIES} where customer_id != ?",
            [customer_id],
        ).fetchone()[0]
    _run_models(root, shared_s_landing, tmp_path, ORDER_SUMMARIES)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(
            f"select orders, order_line_count from intermediate.{ORDER_SUMMARIES} "
            "where customer_id = ?",
            [customer_id],
        ).fetchone() == (orders - 1, lines - lost_lines)
        # nothing else had changed: the run recomputed that customer alone, kept the others
        recomputed = con.execute(
            f"select list(customer_id) from intermediate.{ORDER_SUMMARIES} "
            f"where _staged_at = (select max(_staged_at) from intermediate.{ORDER_SUMMARIES})"
        ).fetchone()[0]
        assert recomputed == [customer_id]
        assert others == con.execute(
            f"select count(*) from intermediate.{ORDER_SUMMARIES} where customer_id != ?",
            [customer_id],
        ).fetchone()[0]
    _assert_equals_a_rebuild(warehouse, shared_s_landing, tmp_path, ORDER_SUMMARIES, "customer_id")


def _assert_equals_a_rebuild(
    warehouse: Path,
    landing: Path,
    tmp_path: Path,
    model: str,
    key: str,
    schema: str = "intermediate",
) -> None:
    """`model` in `warehouse` (a copy a night or a test changed) holds the rows the same model
    rebuilt whole over the same inputs holds, run stamps aside."""
    rebuilt = _nightly_copy({"nightly": warehouse}, tmp_path / f"{model}_rebuilt")
    _run_models(rebuilt, landing, tmp_path, model, full_refresh=True)
    con = duckdb.connect()
    con.execute(f"attach '{warehouse}' as nightly (read_only)")
    con.execute(f"attach '{rebuilt / 'data' / 'warehouse.duckdb'}' as rebuilt (read_only)")
    _assert_intermediate_equal(con, model, {"_staged_at"}, schema=schema, key=key)


def _recomputed(
    con: duckdb.DuckDBPyConnection, model: str, key: str, schema: str = "intermediate"
) -> set:
    """The keys of `model` the last run computed (stamped with its newest stamp)."""
    return {
        row[0]
        for row in con.execute(
            f"select {key} from {schema}.{model} "
            f"where _staged_at = (select max(_staged_at) from {schema}.{model})"
        ).fetchall()
    }


def test_orders_follow_their_contact_store_and_returns(
    warehouses: dict, shared_s_landing: Path, tmp_path: Path
) -> None:
    # Three changes no order of its own records: a CRM contact moved to another time zone (its
    # shop orders' local clock), a store's time zone corrected in the reference file (its
    # receipts, and the sales whose returns were made there), a return restaged (its sale's
    # netting). Exactly those orders are recomputed, and the table then equals a rebuild.
    root = _nightly_copy(warehouses, tmp_path / "orders")
    warehouse = root / "data" / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        contact_id = con.execute(
            "select user_id from staging.stg_shop__orders where user_id in "
            "(select contact_id from staging.stg_crm__contacts "
            "where time_zone is distinct from 'Asia/Colombo') "
            "group by user_id order by count(*) desc, user_id limit 1"
        ).fetchone()[0]
        con.execute(
            "update staging.stg_crm__contacts set time_zone = 'Asia/Colombo', "
            "_staged_at = _staged_at + interval 1 day where contact_id = ?",
            [contact_id],
        )
        store_id = con.execute(
            "select store_id from staging.stg_reference__stores "
            "where time_zone is distinct from 'Asia/Tokyo' and store_id in "
            "(select store_id from staging.stg_pos__receipts) order by store_id limit 1"
        ).fetchone()[0]
        con.execute(
            "update staging.stg_reference__stores set time_zone = 'Asia/Tokyo' "
            "where store_id = ?",
            [store_id],
        )
        return_id, sale_id = con.execute(
            "select returns.receipt_id, sales.receipt_id "
            "from staging.stg_pos__receipts as returns "
            "inner join staging.stg_pos__receipts as sales "
            "on returns.original_receipt_id = sales.receipt_id and sales.receipt_type = 'sale' "
            "where returns.receipt_type = 'return' and returns.store_id <> ? "
            "and sales.store_id <> ? order by returns.receipt_id limit 1",
            [store_id, store_id],
        ).fetchone()
        con.execute(
            "update staging.stg_pos__receipts set _staged_at = _staged_at + interval 1 day "
            "where receipt_id = ?",
            [return_id],
        )
        expected = {
            row[0]
            for row in con.execute(
                "select 'shop-' || order_id from staging.stg_shop__orders where user_id = $1 "
                "union all select 'pos-' || receipt_id from staging.stg_pos__receipts "
                "where store_id = $2 "
                "union all select 'pos-' || original_receipt_id from staging.stg_pos__receipts "
                "where store_id = $2 and original_receipt_id in "
                "(select receipt_id from staging.stg_pos__receipts) "
                "union all select unnest(['pos-' || $3, 'pos-' || $4])",
                [contact_id, store_id, return_id, sale_id],
            ).fetchall()
        }
    _run_models(root, shared_s_landing, tmp_path, ORDERS)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        recomputed = _recomputed(con, ORDERS, "order_id")
        assert con.execute(
            f"select distinct order_time_zone from intermediate.{ORDERS} "
            "where source_system = 'shop' and source_order_id in "
            "(select order_id from staging.stg_shop__orders where user_id = ?)",
            [contact_id],
        ).fetchall() == [("Asia/Colombo",)]
        assert con.execute(
            f"select distinct order_time_zone from intermediate.{ORDERS} where store_id = ?",
            [store_id],
        ).fetchall() == [("Asia/Tokyo",)]
    assert recomputed == expected
    _assert_equals_a_rebuild(warehouse, shared_s_landing, tmp_path, ORDERS, "order_id")


def test_consents_follow_a_lost_and_a_new_event(
    warehouses: dict, shared_s_landing: Path, tmp_path: Path
) -> None:
    # One customer loses a consent event with nothing stamped (as when its record moves to
    # another customer): only the event count it holds says so. Another customer's event is
    # written again. Exactly those two customers are recomputed, every channel, in the status
    # table and in the consent history mart, and both then equal a rebuild.
    root = _nightly_copy(warehouses, tmp_path / "consents")
    warehouse = root / "data" / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        lost_customer, lost_event = con.execute(
            "select customer_id, max(consent_event_id) "
            "from intermediate.int_consent_events_unioned group by customer_id "
            "having count(*) >= 2 order by customer_id limit 1"
        ).fetchone()
        con.execute(
            "delete from intermediate.int_consent_events_unioned where consent_event_id = ?",
            [lost_event],
        )
        touched_customer = con.execute(
            "select min(customer_id) from intermediate.int_consent_events_unioned "
            "where customer_id <> ?",
            [lost_customer],
        ).fetchone()[0]
        con.execute(
            "update intermediate.int_consent_events_unioned "
            "set _staged_at = _staged_at + interval 1 day where consent_event_id = "
            "(select min(consent_event_id) from intermediate.int_consent_events_unioned "
            "where customer_id = ?)",
            [touched_customer],
        )
        rows_before = con.execute(f"select count(*) from intermediate.{CONSENTS}").fetchone()[0]
    _run_models(root, shared_s_landing, tmp_path, CONSENTS, CONSENT_HISTORY)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        recomputed = _recomputed(con, CONSENTS, "customer_channel_id")
        assert con.execute(f"select count(*) from intermediate.{CONSENTS}").fetchone()[0] == (
            rows_before
        )
        history_recomputed = _recomputed(con, CONSENT_HISTORY, "customer_id", schema="marts")
    channels = ("email", "sms", "whatsapp", "telegram")
    customers = (lost_customer, touched_customer)
    assert recomputed == {f"{customer}:{channel}" for customer in customers for channel in channels}
    assert history_recomputed == set(customers)
    _assert_equals_a_rebuild(warehouse, shared_s_landing, tmp_path, CONSENTS, "customer_channel_id")
    _assert_equals_a_rebuild(
        warehouse, shared_s_landing, tmp_path, CONSENT_HISTORY, "consent_change_id", "marts"
    )


def test_identity_edges_mart_is_kept_by_record(warehouses: dict) -> None:
    # equal to a rebuild (test_every_mart_row_for_row), and kept by record like the models of
    # RECORD_KEPT
    _assert_rows_kept(_connect(warehouses), "marts.customer_identity_edges")


DIMENSIONS = ("dim_contacts", "dim_customers")


@pytest.mark.parametrize("model", DIMENSIONS)
def test_dimensions_are_kept_by_key(warehouses: dict, model: str) -> None:
    # equal to a rebuild (test_every_mart_row_for_row); a night recomputes the keys whose inputs
    # changed and keeps the other rows with the stamps of earlier runs
    for log in warehouses["night_logs"]:
        assert f"incremental model marts.{model} " in log, "not kept by key"
    _assert_rows_kept(_connect(warehouses), f"marts.{model}")


def test_a_customer_that_lost_an_identifier_is_recomputed(
    warehouses: dict, shared_s_landing: Path, tmp_path: Path
) -> None:
    # One identifier of a customer now resolves to another customer (a split does that); nothing
    # of the customer it left carries a new stamp, so only its count of identifiers says that it
    # changed. A messaging address summarised again is recomputed in dim_contacts, nothing else.
    root = _nightly_copy(warehouses, tmp_path / "split")
    warehouse = root / "data" / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        customer_id, identifier_count, anchor = con.execute(
            "select customer_id, identifier_count, anchor_identifier from marts.dim_customers "
            "where identifier_count >= 3 order by customer_id limit 1"
        ).fetchone()
        identifier_type, identifier_value = con.execute(
            "select identifier_type, identifier_value from intermediate.int_identifiers_resolved "
            "where customer_id = ? and identifier <> ? order by identifier limit 1",
            [customer_id, anchor],
        ).fetchone()
        con.execute(
            "update intermediate.int_identifiers_resolved set customer_id = 'split_off', "
            "_staged_at = _staged_at + interval 1 day "
            "where identifier_type = ? and identifier_value = ?",
            [identifier_type, identifier_value],
        )
        # an address the identity key leaves as it is (not a gmail one), of another customer
        messaged_customer, messaged_email = con.execute(
            "select contacts.customer_id, contacts.identifier_value "
            "from marts.dim_contacts as contacts "
            "where contacts.identifier_type = 'email' and contacts.identifier_value <> ? "
            "and contacts.customer_id is distinct from ? "
            "and contacts.identifier_value not like '%@gmail.com' "
            "and contacts.identifier_value not like '%@googlemail.com' "
            "and contacts.identifier_value in (select email from "
            "intermediate.int_message_addresses_summarised where channel = 'email') "
            "order by contacts.identifier_value limit 1",
            [identifier_value, customer_id],
        ).fetchone()
        messaged = ("email", messaged_email)
        con.execute(
            "update intermediate.int_message_addresses_summarised "
            "set _staged_at = _staged_at + interval 1 day where channel = ? and email = ?",
            messaged,
        )
        rows_before = {
            model: con.execute(f"select count(*) from marts.{model}").fetchone()[0]
            for model in DIMENSIONS
        }
    _run_models(root, shared_s_landing, tmp_path, *DIMENSIONS)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(
            "select identifier_count from marts.dim_customers where customer_id = ?",
            [customer_id],
        ).fetchall() == [(identifier_count - 1,)]
        assert con.execute(
            "select identifier_count from marts.dim_customers where customer_id = 'split_off'"
        ).fetchall() == [(1,)]
        recomputed = {
            model: con.execute(
                f"select {key} from marts.{model} "
                f"where _staged_at = (select max(_staged_at) from marts.{model})"
            ).fetchall()
            for model, key in (
                ("dim_contacts", "identifier_type, identifier_value"),
                ("dim_customers", "customer_id"),
            )
        }
        rows_after = {
            model: con.execute(f"select count(*) from marts.{model}").fetchone()[0]
            for model in DIMENSIONS
        }
    # dim_contacts: the identifier that moved and the address messaged again, and nothing else
    assert sorted(recomputed["dim_contacts"]) == sorted(
        [(identifier_type, identifier_value), ("email", messaged[1])]
    )
    # dim_customers: the customer that lost the identifier, the one that gained it, and the
    # customer of the address messaged again
    assert {row[0] for row in recomputed["dim_customers"]} == {
        customer_id, "split_off", *([messaged_customer] if messaged_customer else [])
    }
    assert rows_after == {
        "dim_contacts": rows_before["dim_contacts"],
        "dim_customers": rows_before["dim_customers"] + 1,
    }


IDENTITY_EDGE_MODELS = (
    "int_identity_override_pairs",
    "int_identity_edges_filtered",
    "customer_identity_edges",
)


def _identity_edges(con: duckdb.DuckDBPyConnection) -> dict:
    return {
        row[0]: row[1:]
        for row in con.execute(
            "select customer_identity_edge_id, is_linking, not_linking_reason, override_id, "
            "_staged_at from marts.customer_identity_edges"
        ).fetchall()
    }


def test_identity_edges_follow_a_steward_decision_and_its_removal(
    warehouses: dict, shared_s_landing: Path, tmp_path: Path
) -> None:
    # No record changed and no identifier moved: a steward marks a linking pair never_link, and
    # later takes the decision back. customer_identity_edges recomputes the records carrying the
    # pair both times (the second time found by the override_id its rows hold), and only those.
    root = _nightly_copy(warehouses, tmp_path / "decided")
    warehouse = root / "data" / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        key_a, key_b, value_a, value_b, type_a, type_b = con.execute(
            "select edges.identifier_key_a, edges.identifier_key_b, "
            "end_a.identifier_value, end_b.identifier_value, "
            "end_a.identifier_type, end_b.identifier_type "
            "from intermediate.int_identity_edges_filtered as edges "
            "inner join intermediate.int_identifiers_numbered as end_a "
            "on edges.identifier_key_a = end_a.identifier_key "
            "inner join intermediate.int_identifiers_numbered as end_b "
            "on edges.identifier_key_b = end_b.identifier_key "
            "where edges.edge_source = 'observed' and edges.record_count >= 2 "
            "order by edges.edge_id limit 1"
        ).fetchone()
        carriers = {
            row[0]
            for row in con.execute(
                "select distinct record_type || ':' || record_id "
                "from intermediate.int_identity_edges_observed "
                "where identifier_key_a = ? and identifier_key_b = ?",
                [key_a, key_b],
            ).fetchall()
        }
        assert len(carriers) >= 2
        before = _identity_edges(con)
        carried = {
            row[0]
            for row in con.execute(
                "select customer_identity_edge_id from marts.customer_identity_edges "
                "where record_type || ':' || record_id in (select unnest(?))",
                [sorted(carriers)],
            ).fetchall()
        }
        con.execute(
            "insert into reference.identity_overrides (override_id, override_type, "
            "identifier_type_a, identifier_value_a, identifier_type_b, identifier_value_b, "
            "reason, decided_by, decided_at) values ('T-1', 'never_link', ?, ?, ?, ?, "
            "'test', 'tests', timestamp '2026-01-01')",
            [type_a, value_a, type_b, value_b],
        )
    _run_models(root, shared_s_landing, tmp_path, *IDENTITY_EDGE_MODELS)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        after_decision = _identity_edges(con)
        # the pair's rows in the mart: found by the two identifiers, in either order
        pair_rows = {
            row[0]
            for row in con.execute(
                "select customer_identity_edge_id from marts.customer_identity_edges "
                "where (identifier_value_a = ? and identifier_value_b = ?) "
                "or (identifier_value_a = ? and identifier_value_b = ?)",
                [value_a, value_b, value_b, value_a],
            ).fetchall()
        }
    assert after_decision.keys() == before.keys()
    assert pair_rows and pair_rows <= carried
    for edge in pair_rows:
        assert after_decision[edge][:3] == (False, "never_link override", "T-1")
    # every row of a carrying record was recomputed (new stamp); no other row was
    restamped = {edge for edge in after_decision if after_decision[edge][3] != before[edge][3]}
    assert restamped == carried
    assert {edge for edge in before if after_decision[edge][:3] != before[edge][:3]} == pair_rows

    with duckdb.connect(str(warehouse)) as con:
        con.execute("delete from reference.identity_overrides where override_id = 'T-1'")
    _run_models(root, shared_s_landing, tmp_path, *IDENTITY_EDGE_MODELS)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        after_removal = _identity_edges(con)
    # the decision's rows came back as they were, found by the override_id they held
    assert {edge: row[:3] for edge, row in after_removal.items()} == {
        edge: row[:3] for edge, row in before.items()
    }
    assert {
        edge for edge in after_removal if after_removal[edge][3] != after_decision[edge][3]
    } == carried


# the order lines still carrying the first build's stamp
FIRST_RUN_LINES = (
    "select count(*) from marts.fct_order_lines "
    "where _staged_at = (select min(_staged_at) from marts.fct_order_lines)"
)


def test_order_lines_follow_their_order(
    warehouses: dict, shared_s_landing: Path, tmp_path: Path
) -> None:
    # No line changed, but fct_orders rewrites an order (here: its stored customer is stale, as
    # after a merge): fct_order_lines re-processes that order's lines from the rewritten row,
    # found by the order's stamp, and keeps the lines of untouched orders as they were
    root = _nightly_copy(warehouses, tmp_path / "lines")
    warehouse = root / "data" / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        order_id, customer_id = con.execute(
            "select order_id, customer_id from marts.fct_orders "
            "where customer_id is not null and order_id in "
            "(select order_id from marts.fct_order_lines) order by order_id limit 1"
        ).fetchone()
        con.execute(
            "update marts.fct_orders set customer_id = 'stale' where order_id = ?", [order_id]
        )
        con.execute(
            "update marts.fct_order_lines set customer_id = 'stale' where order_id = ?", [order_id]
        )
        kept_before = con.execute(FIRST_RUN_LINES).fetchone()[0]
    _run_models(root, shared_s_landing, tmp_path, "fct_orders", "fct_order_lines")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(
            "select distinct customer_id from marts.fct_order_lines where order_id = ?", [order_id]
        ).fetchall() == [(customer_id,)]
        newest = con.execute("select max(_staged_at) from marts.fct_order_lines").fetchone()[0]
        assert con.execute(
            "select bool_and(_staged_at = ?) from marts.fct_order_lines where order_id = ?",
            [newest, order_id],
        ).fetchone()[0]
        kept_after = con.execute(FIRST_RUN_LINES).fetchone()[0]
        total = con.execute("select count(*) from marts.fct_order_lines").fetchone()[0]
    # the first build's lines stay, apart from those of orders fct_orders re-processed
    assert kept_after > total / 2
    assert kept_after <= kept_before


def test_a_table_built_before_it_held_stamps_asks_for_a_full_refresh(
    warehouses: dict, shared_s_landing: Path, tmp_path: Path
) -> None:
    # a warehouse built by a version whose fct_order_lines had no run stamps: the run stops
    # with the command that rebuilds it, instead of a binder error or a silent full read
    root = _nightly_copy(warehouses, tmp_path / "unstamped")
    with duckdb.connect(str(root / "data" / "warehouse.duckdb")) as con:
        con.execute("alter table marts.fct_order_lines drop column _staged_at")
    with pytest.raises(AssertionError) as failed:
        _run_models(root, shared_s_landing, tmp_path, "fct_order_lines")
    assert "has no _staged_at column" in str(failed.value)
    assert "dbt build --full-refresh --select fct_order_lines" in str(failed.value)


CONTACT_POINT_CHECKS = "stg_hygiene__contact_point_checks"


def test_contact_point_checks_merged_by_night_equal_a_rebuild(warehouses: dict) -> None:
    # The nights merged only their new spellings (macros/staging/contact_point_checks.sql): the
    # rows equal a build over every spelling, the check times aside, which are the nights'
    # own. Several check times in the nightly table show the nights did merge.
    con = _connect(warehouses)
    _assert_intermediate_equal(con, CONTACT_POINT_CHECKS, {"checked_at"}, schema="staging")
    stamps = {
        catalog: con.execute(
            f"select count(distinct checked_at) from {catalog}.staging.{CONTACT_POINT_CHECKS}"
        ).fetchone()[0]
        for catalog in ("nightly", "rebuilt")
    }
    assert stamps == {"nightly": NIGHTS + 1, "rebuilt": 1}


def test_contact_point_checks_rebuild_when_a_value_left_the_raw_zone(
    warehouses: dict, shared_s_landing: Path, tmp_path: Path
) -> None:
    """A raw file rewritten without a value (re-extracted, or scrubbed): the checks asset reads
    everything again and stamps every row, and staging rebuilds instead of merging, so the
    value's contact point leaves it."""
    from orchestration.assets import contact_points as cp

    root = _nightly_copy(warehouses, tmp_path / "left")
    raw = root / "data" / "raw"
    warehouse = root / "data" / "warehouse.duckdb"
    every_value = " union all ".join(
        f"select {c.column} as value_raw, filename from read_parquet("
        f"'{raw}/{c.system}/{c.table}/**/*.parquet', filename = true) where {c.where}"
        for c in cp.RAW_CONTACT_COLUMNS
    )
    with duckdb.connect(str(warehouse)) as con:
        # a CRM email held by one raw row, the only spelling of its contact point
        value, raw_file = con.execute(
            f"select value_raw, any_value(filename) from ({every_value}) "
            f"where value_raw in (select value_raw from staging.{CONTACT_POINT_CHECKS} "
            "where contact_point_type = 'email' and spelling_count = 1) "
            "group by value_raw having count(*) = 1 and bool_and(filename like '%/crm/%') "
            "order by value_raw limit 1"
        ).fetchone()
        key = con.execute(
            f"select contact_point_key from staging.{CONTACT_POINT_CHECKS} where value_raw = ?",
            [value],
        ).fetchone()[0]
        rewritten = Path(raw_file).with_name("rewritten.tmp")
        con.execute(
            f"copy (select * from read_parquet('{raw_file}') where email is distinct from ?) "
            f"to '{rewritten}' (format parquet)",
            [value],
        )
    rewritten.replace(raw_file)
    assert cp.write_contact_point_checks(raw).mode == "full"

    _run_models(root, shared_s_landing, tmp_path, CONTACT_POINT_CHECKS)
    with duckdb.connect(str(warehouse)) as con:
        held = con.execute(
            f"select count(*) from staging.{CONTACT_POINT_CHECKS} where contact_point_key = ?",
            [key],
        ).fetchone()[0]
        assert held == 0, f"{key} stayed after its only raw value left"
        con.execute(f"create table main.after_night as from staging.{CONTACT_POINT_CHECKS}")
    _run_models(root, shared_s_landing, tmp_path, CONTACT_POINT_CHECKS, "--full-refresh")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        only = [
            con.execute(f"select count(*) from (from {a} except all from {b})").fetchone()[0]
            for a, b in (
                ("main.after_night", f"staging.{CONTACT_POINT_CHECKS}"),
                (f"staging.{CONTACT_POINT_CHECKS}", "main.after_night"),
            )
        ]
        assert only == [0, 0], "the rebuilt night differs from a full refresh"
