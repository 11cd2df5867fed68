"""What a night's dbt nodes cost on their own, against the node times `dbt build` reported:

    python benchmarks/night_work_alone.py /tmp/cb_bench/L/target/<dagster step folder> \\
        /tmp/cb_bench/L/data/warehouse.duckdb [--models]

The folder is the one dagster-dbt left for the night's `dbt build` (it holds run_results.json
with every node's compiled SQL, and dbt's debug log). First, from the log, the seconds of every
SQL statement the build ran, by kind (model bodies, deletes, inserts, test queries, metadata)
and per model. Then every data test of that run is replayed alone, one after the other, on the
warehouse the night left (read-only, DuckDB at the profile's settings), and the seconds are set
beside the node time the night reported. With `--models`, each table model's compiled SELECT is
also computed alone into a temporary table: an incremental model's compiled SQL is its night
branch run against the table the night left (for a model kept by key that is less work than
the night had), without its hooks and writes.

A node time in `dbt build` includes waiting for the CPU the other dbt thread is using and dbt's
own per-node work; the sum of node times is therefore no measure of what a node costs the night.
The replay is. Printed: the sums, and the nodes that cost most alone.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import time
from pathlib import Path

import duckdb

SETTINGS = (
    "set threads = 2; set memory_limit = '12GB'; set preserve_insertion_order = false; "
    "set TimeZone = 'UTC'"
)


def statement_kind(unique_id: str, sql: str) -> str:
    if unique_id.startswith("test."):
        return "test query"
    text = re.sub(r"/\*.*?\*/", "", sql, flags=re.S)
    text = re.sub(r"^\s*(--[^\n]*\n\s*)*", "", text).lower()
    if re.match(r"create\s+(temporary|temp)\s+table", text):
        return "model body (temp table)"
    if re.match(r"create\s+(or\s+replace\s+)?table", text):
        return "model body (table)"
    for kind in ("insert", "delete", "update", "commit", "begin", "alter", "drop"):
        if text.startswith(kind):
            return kind
    if "information_schema" in text or text.startswith("describe"):
        return "metadata"
    return "other"


def statement_seconds(run_folder: Path) -> tuple[dict, dict]:
    """Seconds per statement kind, and per model and kind, from dbt's JSON debug log (each
    SQLQuery event is followed on its thread by a SQLQueryStatus with the elapsed time)."""
    by_kind: dict[str, list] = collections.defaultdict(lambda: [0, 0.0])
    by_model: dict[str, dict] = collections.defaultdict(lambda: collections.defaultdict(float))
    pending: dict[str, tuple[str, str]] = {}
    logs = sorted(run_folder.glob("dbt.log*"), key=lambda p: p.stat().st_mtime)
    for log in logs:
        for line in log.read_text().splitlines():
            if '"SQLQuery' not in line:
                continue
            event = json.loads(line)
            name, thread = event["info"]["name"], event["info"]["thread"]
            if name == "SQLQuery":
                unique_id = (event["data"].get("node_info") or {}).get("unique_id", "")
                pending[thread] = (unique_id, statement_kind(unique_id, event["data"]["sql"]))
            elif name == "SQLQueryStatus" and thread in pending:
                unique_id, kind = pending.pop(thread)
                seconds = float(event["data"]["elapsed"])
                by_kind[kind][0] += 1
                by_kind[kind][1] += seconds
                if unique_id.startswith("model."):
                    by_model[unique_id.split(".")[-1]][kind] += seconds
    return by_kind, by_model


def replay(con: duckdb.DuckDBPyConnection, results: list[dict], kind: str) -> list[tuple]:
    views = {
        f'"{catalog}"."{schema}"."{name}"'
        for catalog, schema, name in con.execute(
            "select table_catalog, table_schema, table_name from information_schema.tables "
            "where table_type = 'VIEW'"
        ).fetchall()
    }
    timed = []
    for result in results:
        unique_id = result["unique_id"]
        sql = result.get("compiled_code")
        if not unique_id.startswith(f"{kind}.") or not sql:
            continue
        if kind == "model" and result.get("relation_name") in views:
            continue  # a view is computed by its readers, not by the night
        started = time.perf_counter()
        if kind == "test":
            con.execute(f"select count(*) from ({sql}) as failures").fetchone()
        else:
            try:
                con.execute(f"create or replace temp table replayed as {sql}")
            except duckdb.Error as error:
                # a custom materialisation's SQL (the components loop) is no single SELECT
                print(f"  not replayed: {unique_id}: {str(error).splitlines()[0][:100]}")
                continue
            con.execute("drop table replayed")
        timed.append((time.perf_counter() - started, float(result["execution_time"]), unique_id))
    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_folder", type=Path, help="dbt target folder of the night's build")
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--models", action="store_true", help="also compute every model alone")
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()

    results = json.loads((args.run_folder / "run_results.json").read_text())
    print(f"dbt build elapsed {results['elapsed_time']:.1f} s, {len(results['results'])} nodes")
    by_kind, by_model = statement_seconds(args.run_folder)
    if by_kind:
        total = sum(seconds for _, seconds in by_kind.values())
        print(f"\nSQL statements in the night (dbt's log): {total:.1f} s over both dbt threads")
        for kind, (count, seconds) in sorted(by_kind.items(), key=lambda item: -item[1][1]):
            print(f"{seconds:8.1f} s {count:6d}  {kind}")
        print("\nmodels by their statements' seconds")
        ranked = sorted(by_model.items(), key=lambda item: -sum(item[1].values()))
        for model, kinds in ranked[: args.top]:
            parts = ", ".join(
                f"{kind} {seconds:.1f}" for kind, seconds in
                sorted(kinds.items(), key=lambda item: -item[1]) if seconds >= 0.3
            )
            print(f"{sum(kinds.values()):8.1f} s  {model}: {parts}")
    con = duckdb.connect(str(args.warehouse), read_only=True)
    con.execute(SETTINGS)
    for kind in ("test", "model") if args.models else ("test",):
        timed = replay(con, results["results"], kind)
        alone = sum(t[0] for t in timed)
        reported = sum(t[1] for t in timed)
        if not alone:
            print(f"\n{kind}s: none")
            continue
        print(
            f"\n{kind}s: {len(timed)}; alone {alone:.1f} s, node time in the night "
            f"{reported:.1f} s ({reported / alone:.2f}x)"
        )
        print(f"{'alone':>8} {'night':>8}  node")
        for seconds, node_seconds, unique_id in sorted(timed, reverse=True)[: args.top]:
            print(f"{seconds:8.2f} {node_seconds:8.2f}  {unique_id.split('.')[2]}")


if __name__ == "__main__":
    main()
