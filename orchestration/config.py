"""Paths and settings from environment variables, with defaults that work from a clone."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_DIR / "dbt_project"


def _path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).resolve() if value else default


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    landing_dir: Path
    raw_dir: Path
    warehouse_path: Path
    serving_dir: Path
    exports_dir: Path
    reports_dir: Path
    dbt_target: str

    @property
    def quarantine_dir(self) -> Path:
        return self.raw_dir / "_quarantine"


def get_settings() -> Settings:
    """Read the settings now (not at import), so tests can point them at a temporary folder."""
    data_dir = _path("CLIENTBASE_DATA_DIR", REPO_DIR / "data")
    return Settings(
        data_dir=data_dir,
        landing_dir=_path("CLIENTBASE_LANDING_DIR", data_dir / "landing"),
        raw_dir=data_dir / "raw",
        warehouse_path=_path("CLIENTBASE_WAREHOUSE", data_dir / "warehouse.duckdb"),
        serving_dir=data_dir / "serving",
        exports_dir=data_dir / "exports",
        reports_dir=data_dir / "reports",
        dbt_target=os.environ.get("CLIENTBASE_TARGET", "duckdb"),
    )


def export_environment(settings: Settings | None = None) -> None:
    """Make dbt (a subprocess) see the same absolute paths as the Python side."""
    settings = settings or get_settings()
    ensure_tools_on_path()
    os.environ.setdefault("CLIENTBASE_DATA_DIR", str(settings.data_dir))
    os.environ.setdefault("CLIENTBASE_WAREHOUSE", str(settings.warehouse_path))


def ensure_tools_on_path() -> None:
    """dagster-dbt runs `dbt` from PATH: make it the one installed beside this interpreter even
    when the virtual environment is not activated (e.g. `.venv/bin/clientbase`)."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
