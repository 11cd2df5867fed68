"""A publish killed (os._exit, as kill -9 would) at every named point leaves readers on exactly the
last good night or, once the switch happened, on the complete new one; the next publish then
completes without manual repair and sweeps what the dead one left behind."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

from orchestration import serving
from orchestration.config import REPO_DIR

POINTS = [
    "publish:snapshot_written",
    "publish:snapshot_renamed",
    "publish:catalogue_written",
    "publish:switched",
]


def _night(path, night: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists marts")
    con.execute(
        "create or replace table marts.customer_rfm as select 'c' || i as customer_id, "
        f"{night} as night, i * {night} as monetary from range(200) t(i)"
    )
    con.close()


def _served(serving_dir):
    con = serving.open_serving(serving_dir)
    try:
        nights = con.execute("select distinct night from bi.customer_rfm").fetchall()
        count = con.execute("select count(*) from bi.customer_rfm").fetchone()[0]
        build = con.execute("select build_id from bi.build_info").fetchone()[0]
        return nights, count, build
    finally:
        con.close()


def _publish_in_subprocess(warehouse, serving_dir, point: str | None):
    env = {**os.environ, "CLIENTBASE_PII_SALT": "pepper"}
    env.pop("CLIENTBASE_FAULT_POINT", None)
    if point:
        env["CLIENTBASE_FAULT_POINT"] = point
    code = (
        "from pathlib import Path; from orchestration import serving; "
        f"serving.publish(warehouse_path=Path({str(warehouse)!r}), "
        f"serving_dir=Path({str(serving_dir)!r}))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_DIR, env=env, capture_output=True, timeout=300
    )


@pytest.mark.parametrize("point", POINTS)
def test_publish_killed_at_a_point(tmp_path, point):
    warehouse, serving_dir = tmp_path / "warehouse.duckdb", tmp_path / "serving"
    _night(warehouse, 1)
    assert _publish_in_subprocess(warehouse, serving_dir, None).returncode == 0
    good = _served(serving_dir)
    assert good[0] == [(1,)] and good[1] == 200

    _night(warehouse, 2)
    killed = _publish_in_subprocess(warehouse, serving_dir, point)
    assert killed.returncode == 137, killed.stderr.decode()[-2000:]

    nights, count, build = _served(serving_dir)
    if point == "publish:switched":
        # The switch is the commit point: readers see the whole new night, never a mix.
        assert nights == [(2,)] and count == 200 and build != good[2]
    else:
        assert (nights, count, build) == good, "readers must stay on the last good night"

    # The next publish needs no repair and leaves no debris of the dead one.
    assert _publish_in_subprocess(warehouse, serving_dir, None).returncode == 0
    nights, count, build = _served(serving_dir)
    assert nights == [(2,)] and count == 200
    snapshots = serving_dir / "snapshots"
    assert not list(snapshots.glob("*.tmp"))
    assert all((p / serving.CATALOGUE_NAME).exists() for p in snapshots.iterdir())
    assert not list(serving_dir.glob(f".{serving.CATALOGUE_NAME}.*"))
