"""dbt's compiled SQL of the RFM and cohort marts run straight on DuckDB (no dbt around it).

Separates the engine's time from dbt's per-invocation and per-model costs in the `marts`
section of benchmarks/run.py. Each model is materialised as a temporary table (every column
computed; the warehouse is opened read-only, so nothing is changed):

    python benchmarks/sql_marts.py [--out DIR] <warehouse.duckdb> <compiled model.sql> [...]

With --out, each result is written to DIR/<model>.parquet after the timing (for comparing rows).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import duckdb


def main(argv: list[str]) -> int:
    out = None
    if argv[:1] == ["--out"]:
        out, argv = Path(argv[1]), argv[2:]
    warehouse, *models = argv
    con = duckdb.connect(warehouse, read_only=True)
    # as in profiles.yml
    con.execute("set threads = 2")
    con.execute("set preserve_insertion_order = false")
    seconds = {}
    started = time.perf_counter()
    for model in models:
        sql = Path(model).read_text()
        t0 = time.perf_counter()
        con.execute(f"create temp table {Path(model).stem} as {sql}")
        seconds[Path(model).stem] = time.perf_counter() - t0
    total = time.perf_counter() - started
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for stem in seconds:
            con.execute(f"copy {stem} to '{out / stem}.parquet' (format parquet)")
    print(json.dumps({
        "seconds": total, "models": seconds,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
