"""A whole `clientbase build` killed with SIGKILL (the process group: orchestrator, dbt and all)
in the middle of extraction and in the middle of the dbt build leaves BI on exactly the last good
night; the next build then completes without manual repair and without duplicates.

Killing publishing itself at each of its commit points is tests/test_publish_faults.py; killing
a single load mid-write is tests/test_landing_faults.py. This is the same promise for a real
build, end to end, on a copy of the session's size-S build."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from orchestration import serving
from orchestration.config import REPO_DIR

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

KILL_TIMEOUT_SECONDS = 900
HISTORY_MART = "identity_graph_health"


def _served(serving_dir: Path) -> tuple[str, list[tuple]]:
    """The night BI sees: build id and every mart's row count and checksum."""
    con = serving.open_serving(serving_dir)
    try:
        build_id = con.execute("select build_id from bi.build_info").fetchone()[0]
        marts = con.execute(
            "select mart, row_count, checksum from bi.build_marts order by mart"
        ).fetchall()
        return build_id, marts
    finally:
        con.close()


def _raw_counts(raw_dir: Path) -> dict[str, int]:
    counts = {}
    with duckdb.connect() as con:
        for table_dir in sorted(p for p in raw_dir.glob("*/*") if p.is_dir()):
            files = list(table_dir.rglob("*.parquet"))
            if not files:
                continue
            counts[f"{table_dir.parent.name}/{table_dir.name}"] = con.execute(
                "select count(*) from read_parquet(?, union_by_name = true)",
                [[str(f) for f in files]],
            ).fetchone()[0]
    return counts


def _start_build(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "build"],
        env=env,
        cwd=REPO_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes dbt with it
    )


def _kill_when(proc: subprocess.Popen, ready, what: str) -> None:
    deadline = time.monotonic() + KILL_TIMEOUT_SECONDS
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"the build ended (exit {proc.returncode}) before {what}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _dbt_models_created(root: Path) -> int:
    """Models dbt reported as built in this folder's dbt logs so far."""
    total = 0
    for log in root.rglob("dbt.log"):
        text = log.read_text(errors="replace")
        total += text.count("OK created sql")
    return total


@pytest.fixture()
def killable(built_s, tmp_path):
    """A private copy of the built data folder with its own Dagster instance and dbt target."""
    data = tmp_path / "data"
    shutil.copytree(built_s.data_dir, data, symlinks=True)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        **built_s.env,
        "CLIENTBASE_DATA_DIR": str(data),
        "CLIENTBASE_WAREHOUSE": str(data / "warehouse.duckdb"),
        "DAGSTER_HOME": str(home),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
    return tmp_path, data, env, built_s.build


def test_build_killed_during_extraction_and_during_dbt_then_completes(killable):
    root, data, env, build = killable
    good = _served(data / "serving")
    raw_before = _raw_counts(data / "raw")
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        customers_before = con.execute("select count(*) from marts.dim_customers").fetchone()[0]

    # 1. kill -9 while extraction rewrites the raw zone (it reloads every landing day)
    started = time.time()

    def partitions_rewritten() -> bool:
        fresh = [p for p in (data / "raw").rglob("*.parquet") if p.stat().st_mtime > started]
        return len(fresh) >= 40

    _kill_when(_start_build(env), partitions_rewritten, "extraction to rewrite partitions")
    assert _served(data / "serving") == good, "BI must stay on the last good night"

    # 2. kill -9 in the middle of the dbt build (after a dozen models were written)
    _kill_when(_start_build(env), lambda: _dbt_models_created(root) >= 12, "dbt to build models")
    assert _served(data / "serving") == good, "BI must stay on the last good night"

    # 3. the next build completes by itself, with nothing doubled
    completed = build(env)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    build_id, marts = _served(data / "serving")
    assert build_id != good[0], "the completed build must have published a new night"
    before, after = dict((m, n) for m, n, _ in good[1]), dict((m, n) for m, n, _ in marts)
    # identity_graph_health keeps one row per build that reached it: one more (the killed dbt
    # run may have reached it too); every other mart is the same night again, row for row
    health = HISTORY_MART
    assert before[health] + 1 <= after[health] <= before[health] + 2, (before, after)
    del before[health], after[health]
    assert after == before, "same landing data and as-of date: every mart has the same rows"
    assert _raw_counts(data / "raw") == raw_before, "the raw zone holds no duplicate loads"
    assert not list((data / "raw").rglob("*.tmp*")), "no temporary files left in the raw zone"
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        customers, distinct = con.execute(
            "select count(*), count(distinct customer_id) from marts.dim_customers"
        ).fetchone()
    assert customers == distinct == customers_before
