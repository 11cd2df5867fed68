"""Dagster resources: the dbt CLI and the extraction loader, configured from the environment."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.config import get_settings
from orchestration.extraction import LoadResult, load_system
from orchestration.project import dbt_project

DEFAULT_QUARANTINE_WARN_SHARE = 0.02


class ExtractionResource(dg.ConfigurableResource):
    """Where landing files are read from and the raw zone is written to.

    Empty fields mean "from the environment at run time" (CLIENTBASE_DATA_DIR, ...), read when
    a run starts rather than when the code location loads, so tests and the CLI can point them
    at a temporary folder.
    """

    landing_dir: str = ""
    raw_dir: str = ""
    # Above this share of quarantined rows the quarantine_share check warns.
    quarantine_warn_share: float = float(
        os.environ.get("CLIENTBASE_QUARANTINE_WARN_SHARE", DEFAULT_QUARANTINE_WARN_SHARE)
    )

    def landing_path(self) -> Path:
        return Path(self.landing_dir) if self.landing_dir else get_settings().landing_dir

    def raw_path(self) -> Path:
        return Path(self.raw_dir) if self.raw_dir else get_settings().raw_dir

    def load(
        self, system: str, days: list[str] | None, loaded_at: datetime | None = None
    ) -> dict[str, LoadResult]:
        return load_system(system, self.landing_path(), self.raw_path(), days, loaded_at=loaded_at)


def build_resources() -> dict[str, object]:
    return {
        "dbt": DbtCliResource(project_dir=dbt_project),
        "extraction": ExtractionResource(),
    }
