"""Spark lane: the size-S demo built on DuckDB and on a local Spark session gives the same marts.

Generates size S (seed 42), extracts it into one raw Parquet zone, builds the whole dbt project
on both engines from it (`dbt build`: seeds, models, unit tests; data tests on DuckDB, and on
Spark too with CLIENTBASE_SPARK_PARITY_DATA_TESTS=1), then compares every mart cell by cell:
same customers, clusters, RFM cells, cohort counts, hygiene flags. Only floating-point columns
get a tolerance; timestamps are compared to the microsecond.

Opt-in (a local Spark session needs Java 17 and the `spark` extra, and takes minutes):
    pip install -e ".[dev,spark]"
    CLIENTBASE_RUN_SPARK=1 pytest tests/test_spark_parity.py     # or: pytest -m spark
Asked for but unable to run (no pyspark, dbt-spark or java), it fails instead of skipping.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.spark

REPO_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = REPO_DIR / "dbt_project"

# Columns that say when or by which dbt invocation a row was written, not what it holds.
RUN_METADATA_COLUMNS = {
    "identity_graph_health": {"build_id", "built_at"},
    "identity_mapping_state": {"build_id", "built_at"},
    "hygiene_daily": {"built_at"},
    "customer_identity_edges": {"_staged_at"},
    "customer_consent_history": {"_staged_at"},
    "dim_contacts": {"_staged_at"},
    "dim_customers": {"_staged_at"},
    "fct_orders": {"_staged_at"},
    "fct_order_lines": {"_staged_at"},
}
# Marts that must hold rows after one build (the ledger of changes is empty on a first build).
MUST_HAVE_ROWS = {
    "dim_customers",
    "dim_contacts",
    "customer_identity_edges",
    "fct_orders",
    "fct_order_lines",
    "customer_rfm",
    "cohort_retention",
    "contact_hygiene",
    "sendable_audience",
    "hygiene_daily",
}
FLOAT_REL_TOL = 1e-9
FLOAT_ABS_TOL = 1e-9


def _requested(config: pytest.Config) -> bool:
    return os.environ.get("CLIENTBASE_RUN_SPARK") == "1" or "spark" in (
        config.getoption("markexpr") or ""
    )


def _check_spark_lane(config: pytest.Config) -> None:
    """Skip unless asked for; asked for, fail loudly when the engine cannot run."""
    if not _requested(config):
        pytest.skip("Spark lane is opt-in: CLIENTBASE_RUN_SPARK=1 or pytest -m spark")
    missing = [m for m in ("pyspark", "dbt.adapters.spark") if importlib.util.find_spec(m) is None]
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        missing.append("java (JDK 17)")
    if missing:
        pytest.fail(
            f"Spark lane asked for but {', '.join(missing)} missing: "
            'pip install -e ".[dev,spark]" and install a JDK 17'
        )


def _dbt(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    dbt = Path(sys.executable).with_name("dbt")
    command = [str(dbt), *args, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(REPO_DIR)]
    return subprocess.run(command, capture_output=True, text=True, env=env, check=False)


def _build(data_dir: Path, target: str, as_of: str, work: Path) -> float:
    """`dbt build` on one engine; returns its wall time. Fails the test with dbt's output.

    On Spark the data tests are left out unless CLIENTBASE_SPARK_PARITY_DATA_TESTS=1: they
    assert properties of the marts that the DuckDB build has just tested, and the comparison
    below proves the marts equal; at about a second of Spark overhead each, the few hundred
    of them would double the lane. Seeds, models and unit tests (the macros' edge cases on
    Spark's functions) always run."""
    env = {
        **os.environ,
        "CLIENTBASE_DATA_DIR": str(data_dir),
        "CLIENTBASE_WAREHOUSE": str(data_dir / "warehouse.duckdb"),
        "CLIENTBASE_TARGET": target,
        "DBT_TARGET_PATH": str(work / f"target_{target}"),
        "DBT_LOG_PATH": str(work / f"logs_{target}"),
        "TZ": "UTC",
    }
    started = time.monotonic()
    args = ["build", "--vars", json.dumps({"as_of_date": as_of})]
    if target == "spark" and os.environ.get("CLIENTBASE_SPARK_PARITY_DATA_TESTS") != "1":
        args += ["--exclude-resource-type", "test"]
    result = _dbt(env, *args)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, (
        f"dbt build on {target} failed after {elapsed:.0f}s:\n{result.stdout[-8000:]}"
        f"\n{result.stderr[-3000:]}"
    )
    return elapsed


@pytest.fixture(scope="module")
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One raw zone, two warehouses: DuckDB's file and Spark's metastore + Parquet tables."""
    _check_spark_lane(request.config)
    # requested only now, so that a skipped lane does not generate the data set first
    shared_s_landing: Path = request.getfixturevalue("shared_s_landing")
    from orchestration.assets.contact_points import write_contact_point_checks
    from orchestration.extraction.__main__ import extract_all

    work = tmp_path_factory.mktemp("spark_parity")
    data_dir = work / "data"
    results = extract_all(shared_s_landing, data_dir / "raw")
    assert results and all(r.is_conserved for r in results)
    write_contact_point_checks(data_dir / "raw")

    manifest = json.loads((shared_s_landing / "_truth" / "manifest.json").read_text())
    as_of = (date.fromisoformat(manifest["end_date"]) + timedelta(days=1)).isoformat()

    seconds = {target: _build(data_dir, target, as_of, work) for target in ("duckdb", "spark")}
    print(f"dbt build seconds: {seconds}")

    dbt_manifest = json.loads((work / "target_duckdb" / "manifest.json").read_text())
    marts = sorted(
        node["alias"]
        for node in dbt_manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == "marts"
    )
    return {"data_dir": data_dir, "marts": marts, "seconds": seconds}


def _spark_session(data_dir: Path):
    """A session on the metastore and warehouse the dbt build wrote (as profiles.yml sets them)."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.enableHiveSupport()
        .master("local[2]")
        .config("spark.sql.warehouse.dir", f"{data_dir}/spark-warehouse")
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={data_dir}/spark-metastore/metastore_db;create=true",
        )
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={data_dir}/spark-metastore")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )


def _duckdb_rows(con: duckdb.DuckDBPyConnection, table: str) -> tuple[list[str], list[tuple]]:
    described = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' and table_name = ? order by ordinal_position",
        [table],
    ).fetchall()
    names = sorted(name for name, _ in described)
    types = dict(described)
    select = []
    for name in names:
        kind = types[name].upper()
        if kind.startswith("TIMESTAMP"):
            select.append(f'epoch_us("{name}")')
        elif kind == "DATE":
            select.append(f'cast("{name}" as varchar)')
        else:
            select.append(f'"{name}"')
    return names, con.execute(f'select {", ".join(select)} from marts."{table}"').fetchall()


def _spark_rows(spark, table: str) -> tuple[list[str], list[tuple]]:
    from pyspark.sql.types import DateType, TimestampNTZType, TimestampType

    frame = spark.table(f"marts.{table}")
    fields = {field.name: field.dataType for field in frame.schema.fields}
    names = sorted(fields)
    select = []
    for name in names:
        if isinstance(fields[name], TimestampType | TimestampNTZType):
            select.append(f"unix_micros(cast(`{name}` as timestamp))")
        elif isinstance(fields[name], DateType):
            select.append(f"cast(`{name}` as string)")
        else:
            select.append(f"`{name}`")
    rows = spark.sql(f"select {', '.join(select)} from marts.`{table}`").collect()
    return names, [tuple(row) for row in rows]


def _sort_key(row: tuple) -> tuple:
    # Fractional numbers rounded for ordering only (the comparison uses the exact values), so
    # that 1.5 and 1.50, or two doubles a rounding error apart, sort alike on both engines.
    return tuple(
        (v is None, f"{float(v):.6e}" if isinstance(v, float | Decimal) else str(v)) for v in row
    )


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=FLOAT_REL_TOL, abs_tol=FLOAT_ABS_TOL)
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return Decimal(str(a)) == Decimal(str(b))
    return a == b


def _differences(table: str, duck: tuple[list, list], spark: tuple[list, list]) -> list[str]:
    duck_names, duck_rows = duck
    spark_names, spark_rows = spark
    if duck_names != spark_names:
        return [
            f"{table}: columns differ: only DuckDB {sorted(set(duck_names) - set(spark_names))}, "
            f"only Spark {sorted(set(spark_names) - set(duck_names))}"
        ]
    skip = RUN_METADATA_COLUMNS.get(table, set())
    keep = [i for i, name in enumerate(duck_names) if name not in skip]
    duck_rows = sorted((tuple(r[i] for i in keep) for r in duck_rows), key=_sort_key)
    spark_rows = sorted((tuple(r[i] for i in keep) for r in spark_rows), key=_sort_key)
    names = [duck_names[i] for i in keep]
    if len(duck_rows) != len(spark_rows):
        duck_keys = {_sort_key(r) for r in duck_rows}
        spark_keys = {_sort_key(r) for r in spark_rows}
        only_duck = [r for r in duck_rows if _sort_key(r) not in spark_keys][:3]
        only_spark = [r for r in spark_rows if _sort_key(r) not in duck_keys][:3]
        return [
            f"{table}: {len(duck_rows)} rows on DuckDB, {len(spark_rows)} on Spark; "
            f"e.g. only DuckDB {only_duck}, only Spark {only_spark}"
        ]
    found = []
    for duck_row, spark_row in zip(duck_rows, spark_rows, strict=True):
        cells = [
            f"{name}: duckdb={a!r} spark={b!r}"
            for name, a, b in zip(names, duck_row, spark_row, strict=True)
            if not _same(a, b)
        ]
        if cells:
            found.append(f"{table}: " + "; ".join(cells))
            if len(found) >= 5:
                break
    return found


def test_marts_are_equal_on_duckdb_and_spark(built: dict) -> None:
    data_dir = built["data_dir"]
    assert set(built["marts"]) >= MUST_HAVE_ROWS, "a mart the comparison relies on is gone"
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    spark = _spark_session(data_dir)
    try:
        problems: list[str] = []
        compared = {}
        for table in built["marts"]:
            duck = _duckdb_rows(con, table)
            compared[table] = len(duck[1])
            if table in MUST_HAVE_ROWS and not duck[1]:
                problems.append(f"{table}: empty on DuckDB, nothing to compare")
                continue
            problems.extend(_differences(table, duck, _spark_rows(spark, table)))
    finally:
        con.close()
        spark.stop()
    print(f"compared rows per mart: {compared}")
    assert not problems, "marts differ between DuckDB and Spark:\n" + "\n".join(problems)
