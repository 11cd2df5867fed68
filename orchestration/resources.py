"""Dagster resources: the dbt CLI and the extraction loader, configured from the environment."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from importlib.metadata import version as installed_version
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from packaging.version import Version

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


class ClientbaseDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt CLI resource without two start-up costs this project has no use for.

    Before each dbt command, DbtCliResource.cli runs `dbt --version` in a subprocess (~1.8 s) to
    tell dbt Core from the Fusion engine, and then builds a dbt Core adapter in this process,
    loading the project's macros (~4 s), which it uses only for `fetch_row_counts()` and
    `fetch_column_metadata()` on the event stream. clientbase calls neither, and its dbt is the
    dbt-core installed beside dagster-dbt (a `dbt_executable` pointing at another dbt would
    need the stock resource). So: the version is read from the installed package, and no
    adapter is built: the state dagster-dbt already handles for Fusion (`adapter=None`: the
    stream's metadata fetchers return nothing).
    Two dbt commands a night (parse, build) save ~12 s of the night's fixed cost.

    Both overrides replace private members of dagster-dbt 0.29 (pinned <0.30);
    tests/test_dbt_cli_resource.py fails when an upgrade renames them, so the saving cannot
    vanish without notice.
    """

    @property
    def _cli_version(self) -> Version:
        return Version(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


def build_resources() -> dict[str, object]:
    return {
        "dbt": ClientbaseDbtCliResource(project_dir=dbt_project),
        "extraction": ExtractionResource(),
    }
