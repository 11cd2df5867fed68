"""Splink's connected components on DuckDB for one edge table (benchmark peer of our SQL).

Run as a subprocess by benchmarks/run.py (own process, own timeout):

    python benchmarks/splink_components.py <graphs.duckdb> <edge table> <out.parquet>

Prints JSON with the seconds from reading the edge list to the clusters being materialised.
"""

from __future__ import annotations

import json
import resource
import sys
import time

import duckdb


def main(argv: list[str]) -> int:
    source, table, out = argv
    from splink import DuckDBAPI
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("set threads = 2")
    con.execute(f"attach '{source}' as src (read_only)")
    # Splink wants a node table and an edge table without self-loops (our input declares
    # isolated nodes by self-loops)
    con.execute(
        f"create table nodes as select distinct node_a as unique_id from src.main.{table}"
        f" union select distinct node_b from src.main.{table}"
    )
    con.execute(
        f"create table edges as select node_a as unique_id_l, node_b as unique_id_r"
        f" from src.main.{table} where node_a <> node_b"
    )
    con.execute("detach src")
    db_api = DuckDBAPI(connection=con)
    clusters = cluster_pairwise_predictions_at_threshold(
        "nodes", "edges", db_api=db_api, node_id_column_name="unique_id"
    )
    frame = clusters.as_duckdbpyrelation()
    frame.to_table("splink_clusters")
    elapsed = time.perf_counter() - started
    con.execute(
        f"copy (select unique_id as node_id, cluster_id from splink_clusters) to '{out}'"
        " (format parquet)"
    )
    print(json.dumps({
        "seconds": elapsed,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
