"""Two versions of one model's compiled SELECT, timed alone on the same warehouse, with their rows
compared:

    python benchmarks/model_sql_ab.py WAREHOUSE OLD.sql NEW.sql [--rounds N] [--known-sample M]

OLD.sql is the model as a build compiled it (a dbt step's target folder, `compiled/clientbase/
models/...`), NEW.sql the same model as `dbt compile` renders it now against the same warehouse
(CLIENTBASE_WAREHOUSE pointing at it, CLIENTBASE_AS_OF_DATE at the build's as-of date). Both are
computed into temporary tables, alternating OLD and NEW for N rounds, at the settings
night_work_alone.py uses (DuckDB's profile settings: 2 threads); the warehouse is opened
read-only. Printed: seconds per side and round, the ratio of the best rounds, the row count, and
the rows each side has that the other has not (EXCEPT ALL both ways): a rewrite is only
reported when both are 0.

A night's incremental body run after that night meets a table that already holds the night's
work: int_identifier_keys, for one, then registers nothing. `--known-sample M` replaces the keys
table both sides read by a copy without every M-th key, so that about 1/M of the identifiers are
new to both.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from night_work_alone import SETTINGS  # noqa: E402

KEYS_TABLE = '"warehouse"."intermediate"."int_identifier_keys"'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--known-sample", type=int, default=0, metavar="M")
    args = parser.parse_args()

    con = duckdb.connect(str(args.warehouse), read_only=True)
    con.execute(SETTINGS)
    sides = {"old": args.old.read_text(), "new": args.new.read_text()}
    if args.known_sample:
        con.execute(
            f"create temp table known_sample as select * from {KEYS_TABLE} "
            f"where identifier_key % {args.known_sample} <> 0"
        )
        sides = {name: sql.replace(KEYS_TABLE, "known_sample") for name, sql in sides.items()}

    seconds: dict[str, list[float]] = {name: [] for name in sides}
    for round_number in range(1, args.rounds + 1):
        for name, sql in sides.items():
            con.execute(f"drop table if exists result_{name}")
            started = time.perf_counter()
            con.execute(f"create temp table result_{name} as {sql}")
            seconds[name].append(time.perf_counter() - started)
            print(f"round {round_number}  {name}  {seconds[name][-1]:7.2f} s", flush=True)

    rows = con.execute("select count(*) from result_old").fetchone()[0]
    only_old = con.execute(
        "select count(*) from (select * from result_old except all select * from result_new)"
    ).fetchone()[0]
    only_new = con.execute(
        "select count(*) from (select * from result_new except all select * from result_old)"
    ).fetchone()[0]
    best_old, best_new = min(seconds["old"]), min(seconds["new"])
    print(
        f"best: old {best_old:.2f} s, new {best_new:.2f} s = {best_new / best_old:.2f}x; "
        f"{rows:,} rows; only in old {only_old}, only in new {only_new}"
    )
    return 0 if only_old == only_new == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
