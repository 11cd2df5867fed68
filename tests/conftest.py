"""Shared pytest fixtures: the dbt manifest (parsed once per session) and the shared S data set."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestration.config import ensure_tools_on_path

REPO_DIR = Path(__file__).resolve().parent.parent
ensure_tools_on_path()  # `python -m pytest` without an activated venv still finds dbt

# Developers may point this at a pre-generated copy to save ~20 s per session; CI generates.
SHARED_S_LANDING = Path(os.environ.get("CLIENTBASE_TEST_S_LANDING", "/nonexistent"))


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """Parse the dbt project once (into $DBT_TARGET_PATH) so Definitions can be imported.

    Explicit here rather than at import time of a library module: importing the code location
    must never start dbt."""
    from orchestration.project import prepare_manifest

    return prepare_manifest()


@pytest.fixture(scope="session")
def shared_s_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A size-S landing folder (seed 42): a pre-generated one when CLIENTBASE_TEST_S_LANDING
    points at it, else generated once per session (the generator is deterministic)."""
    if (SHARED_S_LANDING / "_truth" / "malformed.csv").is_file():
        return SHARED_S_LANDING
    from orchestration.generator import generate

    landing = tmp_path_factory.mktemp("size_s") / "landing"
    generate(landing, size="S", seed=42)
    return landing


@dataclass(frozen=True)
class BuiltWarehouse:
    """A whole nightly build (the CLI's `clientbase build`) of the size-S data set."""

    data_dir: Path
    landing_dir: Path
    warehouse: Path
    dagster_home: Path
    target_path: Path
    env: dict
    output: str

    @staticmethod
    def build(env: dict) -> subprocess.CompletedProcess:
        """Another `clientbase build`, e.g. over a private copy of this one's data folder."""
        return clientbase_build(env)

    @staticmethod
    def dbt(env: dict, *args: str) -> subprocess.CompletedProcess:
        """A dbt command on the project in a subprocess (its output captured), e.g. with the
        environment of a private copy."""
        command = [
            str(Path(sys.executable).with_name("dbt")),
            *args,
            "--project-dir",
            str(REPO_DIR / "dbt_project"),
            "--profiles-dir",
            str(REPO_DIR),
        ]
        return subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=900, check=False
        )

    @property
    def truth_dir(self) -> Path:
        return self.landing_dir / "_truth"

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"

    def private_copy(self, folder: Path) -> dict:
        """An environment for dbt runs that write: its own copy of the built warehouse and its
        own dbt target, over the shared (read-only) raw zone, so a test that rebuilds or
        re-tests models never changes what other tests read."""
        import shutil

        folder.mkdir(parents=True, exist_ok=True)
        warehouse = folder / "warehouse.duckdb"
        shutil.copyfile(self.warehouse, warehouse)
        return {
            **self.env,
            "CLIENTBASE_WAREHOUSE": str(warehouse),
            "DBT_TARGET_PATH": str(folder / "target"),
            "DBT_LOG_PATH": str(folder / "logs"),
        }


def clientbase_build(env: dict) -> subprocess.CompletedProcess:
    """`clientbase build` in a subprocess with the given environment (its output captured)."""
    return subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "build"],
        env=env,
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


@pytest.fixture(scope="session")
def built_s(shared_s_landing: Path, tmp_path_factory: pytest.TempPathFactory) -> BuiltWarehouse:
    """Run the real build once per session, in a subprocess with its own data folder, dbt
    target and Dagster instance: extraction, dbt build with tests, asset checks, publish,
    exports, reports. End-to-end tests of every area read its results instead of building
    again (one build costs minutes on two cores)."""
    root = tmp_path_factory.mktemp("built_s")
    env = {
        **os.environ,
        "CLIENTBASE_DATA_DIR": str(root / "data"),
        "CLIENTBASE_LANDING_DIR": str(shared_s_landing),
        "CLIENTBASE_WAREHOUSE": str(root / "data" / "warehouse.duckdb"),
        "DAGSTER_HOME": str(root / "dagster_home"),
        "DBT_TARGET_PATH": str(root / "target"),
        "DBT_LOG_PATH": str(root / "logs"),
        "CLIENTBASE_PII_SALT": "test-salt-not-a-secret",
    }
    (root / "dagster_home").mkdir()
    (root / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    completed = clientbase_build(env)
    (root / "build.log").write_text(completed.stdout + completed.stderr)
    assert completed.returncode == 0, (
        f"clientbase build failed (log: {root / 'build.log'}):\n{completed.stdout[-5000:]}\n"
        f"{completed.stderr[-5000:]}"
    )
    return BuiltWarehouse(
        data_dir=root / "data",
        landing_dir=shared_s_landing,
        warehouse=root / "data" / "warehouse.duckdb",
        dagster_home=root / "dagster_home",
        target_path=root / "target",
        env=env,
        output=completed.stdout,
    )
