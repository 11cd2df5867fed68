"""int_identifiers_numbered's night work, synchronised (up to 6cc973d) against kept by identifier
(since session 40), on a warehouse a full build and one night left (the benchmark's L warehouse):

    python benchmarks/identifiers_numbered_night.py /tmp/cb_bench/L/data/warehouse.duckdb

The night is replayed from the table as that night left it: its rows stamped by the night are the
identifiers the night recomputed, and the stamp before is the newest one the night found. Each
side runs in a transaction that is rolled back, so the warehouse is unchanged. The SQL is the
models' as compiled (int_identifiers_numbered.sql, identifiers_numbered_stale_rows,
incremental_sync.sql). Printed: seconds per side and round, and the ratio of the best rounds.
"""

from __future__ import annotations

import sys
import time

import duckdb

ROUNDS = 2
OBSERVATIONS = "intermediate.int_identifiers_unioned"
NUMBERED = "intermediate.int_identifiers_numbered"
KEYS = "intermediate.int_identifier_keys"

SYSTEMS = ("crm", "loyalty", "shop", "pos", "surveys", "web", "messaging")
AGGREGATE = (
    """
    identifiers as (
        select
            identifier_type,
            identifier_value,
            max(case when is_valid then 1 else 0 end) = 1 as is_valid,
            min(first_observed_at) as first_seen_at,
            max(last_observed_at) as last_seen_at,
            count(*) as record_count,
    """
    + ",\n".join(
        f"max(case when source_system = '{system}' then 1 else 0 end) = 1 as is_seen_in_{system}"
        for system in SYSTEMS
    )
    + """
        from {source}
        group by identifier_type, identifier_value
    ),
    final as (
        select
            keys.identifier_key,
            identifiers.identifier_type,
            identifiers.identifier_value,
            identifiers.identifier_type || ':' || identifiers.identifier_value as identifier,
            identifiers.is_valid,
            identifiers.first_seen_at,
            identifiers.last_seen_at,
            identifiers.record_count,
    """
    + " + ".join(f"case when is_seen_in_{system} then 1 else 0 end" for system in SYSTEMS)
    + " as source_system_count, "
    + " || ".join(
        f"case when is_seen_in_{system} then '{system}|' else '' end" for system in SYSTEMS
    )
    + """ as source_systems_raw
        from identifiers
        inner join {keys} as keys
            on
                identifiers.identifier_type = keys.identifier_type
                and identifiers.identifier_value = keys.identifier_value
    )
    select
        identifier_key, identifier_type, identifier_value, identifier, is_valid, first_seen_at,
        last_seen_at, record_count, source_system_count,
        substring(source_systems_raw, 1, length(source_systems_raw) - 1) as source_systems
    from final
    """
)
COLUMNS = (
    "identifier_key, identifier_type, identifier_value, identifier, is_valid, first_seen_at, "
    "last_seen_at, record_count, source_system_count, source_systems"
)


def synchronised(con: duckdb.DuckDBPyConnection) -> float:
    """Every identifier aggregated, then only the differing rows written (the `sync` strategy)."""
    started = time.perf_counter()
    con.execute(
        "create or replace temp table computed as with "
        + AGGREGATE.format(source=OBSERVATIONS, keys=KEYS)
    )
    con.execute(
        f"delete from {NUMBERED} as stored where exists (select 1 from (select {COLUMNS} "
        f"from {NUMBERED} except select {COLUMNS} from computed) as differing "
        "where differing.identifier_type = stored.identifier_type "
        "and differing.identifier_value = stored.identifier_value)"
    )
    con.execute(
        f"insert into {NUMBERED} ({COLUMNS}) select {COLUMNS} from computed where not exists "
        f"(select 1 from {NUMBERED} as stored where stored.identifier_type = "
        "computed.identifier_type and stored.identifier_value = computed.identifier_value)"
    )
    return time.perf_counter() - started


def kept_by_identifier(con: duckdb.DuckDBPyConnection, since) -> tuple[float, int]:
    """The pre-hook's delete, then the body over the identifiers without a row."""
    started = time.perf_counter()
    deleted = con.execute(
        f"""
        delete from {NUMBERED} as held
        where not exists (
            select 1
            from (
                select
                    identifier_type, identifier_value, count(*) as record_count,
                    max(_staged_at) as newest_stamp
                from {OBSERVATIONS}
                group by identifier_type, identifier_value
            ) as counted
            where counted.identifier_type = held.identifier_type
                and counted.identifier_value = held.identifier_value
                and counted.record_count = held.record_count
                and not counted.newest_stamp > ?
        )
        """,
        [since],
    ).fetchone()[0]
    missing = f"""
        identifiers_to_compute as (
            select identifier_type, identifier_value
            from {KEYS} as keys
            where not exists (
                select 1 from {NUMBERED} as held where held.identifier_key = keys.identifier_key
            )
        ),
        keyed_observations as (
            select * from {OBSERVATIONS} as observations
            where exists (
                select 1 from identifiers_to_compute as listed
                where listed.identifier_type = observations.identifier_type
                    and listed.identifier_value = observations.identifier_value
            )
        ),
    """
    con.execute(
        "create or replace temp table computed as with "
        + missing
        + AGGREGATE.format(source="keyed_observations", keys=KEYS)
    )
    return time.perf_counter() - started, deleted


def main(warehouse: str) -> int:
    con = duckdb.connect(warehouse, config={"threads": 2})
    stamps = [
        row[0]
        for row in con.execute(
            f"select distinct _staged_at from {NUMBERED} order by _staged_at desc limit 2"
        ).fetchall()
    ]
    if len(stamps) < 2:
        print(f"{warehouse}: {NUMBERED} holds one run's stamp; run a night first")
        return 2
    night, since = stamps
    recomputed = con.execute(
        f"select count(*) from {NUMBERED} where _staged_at = ?", [night]
    ).fetchone()[0]
    total = con.execute(f"select count(*) from {NUMBERED}").fetchone()[0]
    print(f"{total:,} identifiers; the night recomputed {recomputed:,}")
    best = {"synchronised": float("inf"), "kept by identifier": float("inf")}
    for round_number in range(1, ROUNDS + 1):
        con.execute("begin")
        old = synchronised(con)
        con.execute("rollback")
        con.execute("begin")
        new, deleted = kept_by_identifier(con, since)
        con.execute("rollback")
        best["synchronised"] = min(best["synchronised"], old)
        best["kept by identifier"] = min(best["kept by identifier"], new)
        print(
            f"round {round_number}: synchronised {old:.2f} s, kept by identifier {new:.2f} s "
            f"({deleted:,} rows deleted and recomputed)"
        )
    ratio = best["kept by identifier"] / best["synchronised"]
    print(
        f"best: synchronised {best['synchronised']:.2f} s, kept by identifier "
        f"{best['kept by identifier']:.2f} s = {ratio:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/cb_bench/L/data/warehouse.duckdb"))
