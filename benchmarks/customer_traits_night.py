"""customer_traits' night work, rebuilt whole (up to session 41) against its order summaries kept
by customer (int_customer_orders_summarised, since session 42), on a warehouse a full build and
one night left (the benchmark's L warehouse), from the models' compiled SQL:

    python benchmarks/customer_traits_night.py WAREHOUSE OLD_TRAITS NEW_SUMMARIES NEW_TRAITS

OLD_TRAITS is customer_traits.sql as the night compiled it (its dbt step's target folder,
`compiled/clientbase/models/marts/sales/`), NEW_SUMMARIES and NEW_TRAITS the two models as
`dbt compile` renders them against the same warehouse, the summaries' table present (so that the
body is its incremental one) and CLIENTBASE_AS_OF_DATE set to the night's as-of date.

The night is replayed as the kept model would have met it: the held summaries are every
customer's, stamped with the run before the night, so the pre-hook finds the customers with an
order or line the night wrote (the counts all agree: no customer lost an order behind the
night's back). Each side runs in a transaction that is rolled back, so the warehouse is
unchanged. Printed: seconds per side and round, the ratio of the best rounds, and whether the two
sides' customer_traits hold the same rows.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import duckdb

ROUNDS = 2
ORDERS = "marts.fct_orders"
LINES = "marts.fct_order_lines"
SUMMARIES = "intermediate.int_customer_orders_summarised"

# macros/sales/customer_orders_incremental.sql, customer_orders_summarised_stale_rows
STALE = f"""
    delete from {SUMMARIES} as held
    where
        held.customer_id in (
            select customer_id from {ORDERS} where _staged_at > cast($since as timestamp)
            union all
            select customer_id from {LINES} where _staged_at > cast($since as timestamp)
        )
        or not exists (
            select 1
            from (
                select
                    orders.customer_id,
                    orders.order_count,
                    coalesce(lines.line_count, 0) as line_count
                from (
                    select customer_id, count(*) as order_count
                    from {ORDERS}
                    where customer_id is not null
                    group by customer_id
                ) as orders
                left join (
                    select customer_id, count(*) as line_count
                    from {LINES}
                    where customer_id is not null
                    group by customer_id
                ) as lines
                    on orders.customer_id = lines.customer_id
            ) as counted
            where
                counted.customer_id = held.customer_id
                and counted.order_count = held.orders
                and counted.line_count = held.order_line_count
        )
"""


def main(warehouse: str, old_traits: Path, new_summaries: Path, new_traits: Path) -> int:
    con = duckdb.connect(warehouse, config={"threads": 2, "memory_limit": "12GB"})
    con.execute("set preserve_insertion_order = false")
    stamps = [
        row[0]
        for row in con.execute(
            f"select distinct _staged_at from {ORDERS} order by _staged_at desc limit 2"
        ).fetchall()
    ]
    if len(stamps) < 2:
        print(f"{warehouse}: {ORDERS} holds one run's stamp; run a night first")
        return 2
    night, before = stamps
    columns = [
        row[0]
        for row in con.execute(
            "select column_name from duckdb_columns() where schema_name = 'intermediate' "
            "and table_name = 'int_customer_orders_summarised' order by column_index"
        ).fetchall()
    ]
    if not columns:
        print(f"{warehouse}: no {SUMMARIES}; build it first (dbt run --select it)")
        return 2
    column_list = ", ".join(columns)
    old_sql = old_traits.read_text()
    body_sql = new_summaries.read_text()
    traits_sql = new_traits.read_text()
    customers = con.execute(f"select count(*) from {SUMMARIES}").fetchone()[0]
    print(f"{customers:,} customers with orders; the night's stamp {night}, before it {before}")

    best = {"rebuilt whole": float("inf"), "kept by customer": float("inf")}
    for round_number in range(1, ROUNDS + 1):
        con.execute("begin")
        started = time.perf_counter()
        con.execute(f"create table marts.customer_traits__old as {old_sql}")
        old = time.perf_counter() - started
        con.execute("rollback")

        con.execute("begin")
        # the held summaries as the night would have found them: stamped before it
        con.execute(f"update {SUMMARIES} set _staged_at = ?", [before])
        started = time.perf_counter()
        deleted = con.execute(STALE, {"since": str(before)}).fetchone()[0]
        con.execute(f"insert into {SUMMARIES} ({column_list}) {body_sql}")
        con.execute(f"create table marts.customer_traits__new as {traits_sql}")
        new = time.perf_counter() - started
        if round_number == 1:
            # the two sides' rows, compared inside the rolled-back transaction
            con.execute(f"create table marts.customer_traits__old as {old_sql}")
            differing = con.execute(
                "select (select count(*) from (select * from marts.customer_traits__old "
                "except all select * from marts.customer_traits__new)), (select count(*) from "
                "(select * from marts.customer_traits__new except all "
                "select * from marts.customer_traits__old))"
            ).fetchone()
            same = (
                "yes"
                if differing == (0, 0)
                else f"NO (only old {differing[0]}, only new {differing[1]})"
            )
            print(f"same rows both ways: {same}")
        con.execute("rollback")

        best["rebuilt whole"] = min(best["rebuilt whole"], old)
        best["kept by customer"] = min(best["kept by customer"], new)
        print(
            f"round {round_number}: rebuilt whole {old:.2f} s, kept by customer {new:.2f} s "
            f"({deleted:,} of {customers:,} customers recomputed)"
        )
    ratio = best["kept by customer"] / best["rebuilt whole"]
    print(
        f"best: rebuilt whole {best['rebuilt whole']:.2f} s, kept by customer "
        f"{best['kept by customer']:.2f} s = {ratio:.2f}x"
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 5:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], *(Path(arg) for arg in sys.argv[2:])))
