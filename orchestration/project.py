"""The dbt project as Dagster sees it: one DbtProject for the code location, the CLI and tests."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

from dagster_dbt import DagsterDbtProjectPreparer, DbtProject

from orchestration.config import DBT_PROJECT_DIR, REPO_DIR

# The as-of date of the marts for dbt (macros/sales/as_of_date.sql); var as_of_date overrides it.
AS_OF_ENV = "CLIENTBASE_AS_OF_DATE"


def _target_path() -> Path:
    # Several builds share one checkout (developers, CI, tests): DBT_TARGET_PATH gives each
    # its own artefacts folder; an absolute path survives DbtProject's join with project_dir.
    return Path(os.environ.get("DBT_TARGET_PATH", "target"))


dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    profiles_dir=REPO_DIR,  # profiles.yml lives at the repo root, configured from env vars
    target=os.environ.get("CLIENTBASE_TARGET", "duckdb"),
    target_path=_target_path(),
)
# Under `dagster dev` the manifest is re-parsed on every load; elsewhere it must have been
# prepared (`dbt parse`, `prepare_manifest()` below, or `dagster-dbt project prepare-and-package`).
dbt_project.prepare_if_dev()


class _ClientbaseProjectPreparer(DagsterDbtProjectPreparer):
    """dagster-dbt's preparer, parsing through ClientbaseDbtCliResource (no `dbt --version`
    subprocess, no in-process adapter: ~6 s less per parse, see orchestration/resources.py)."""

    def _prepare_manifest(self, project: DbtProject) -> None:
        from orchestration.resources import ClientbaseDbtCliResource

        ClientbaseDbtCliResource(project_dir=project).cli(
            self._prepare_project_cli_args, target_path=project.target_path
        ).wait()
        # as dagster-dbt's own step: seeds re-parse at run time with this checkout's paths
        self._invalidate_seeds_in_partial_parse(project)


def prepare_manifest(dbt_vars: dict | None = None) -> Path:
    """Parse the dbt project now (tests, CI and the CLI call this explicitly, never at import).

    `dbt_vars`: the vars the build that follows will pass. dbt re-parses the whole project when
    the vars differ from the last parse's; parsing with the build's own vars leaves the build a
    partial parse (on this project ~4 s of CPU instead of ~10, once per night). The nightly
    as-of date is no var for that reason (as_of_environment)."""
    args = ["parse", "--quiet"] + (["--vars", json.dumps(dbt_vars)] if dbt_vars else [])
    _ClientbaseProjectPreparer(prepare_project_cli_args=args).prepare(dbt_project)
    if not dbt_project.manifest_path.exists():
        raise FileNotFoundError(f"dbt parse did not write {dbt_project.manifest_path}")
    return dbt_project.manifest_path


@contextmanager
def as_of_environment(as_of: str | None):
    """The as-of date for the dbt commands started inside (macros/sales/as_of_date.sql reads
    AS_OF_ENV): an environment variable, not a dbt var, because a var that differs from the last
    parse's makes dbt re-parse the whole project (size S: 13 s instead of 7 s), every night,
    while a changed environment variable re-parses only the files that read it. None leaves the
    environment as it is (dbt then uses the variable if set, else today)."""
    if not as_of:
        yield
        return
    before = os.environ.get(AS_OF_ENV)
    os.environ[AS_OF_ENV] = as_of
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(AS_OF_ENV, None)
        else:
            os.environ[AS_OF_ENV] = before


def dbt_target_dir() -> Path:
    """dbt's artefacts folder now: DBT_TARGET_PATH, a relative one against the dbt project (as
    dagster-dbt and dbt resolve it)."""
    return DBT_PROJECT_DIR / _target_path()


def latest_run_results(target_dir: Path | None = None) -> Path | None:
    """The newest run_results.json: dagster-dbt writes each invocation's into its own folder
    under the target path, a plain `dbt` run into the target path itself."""
    target_dir = target_dir or dbt_target_dir()
    candidates = [*target_dir.glob("*/run_results.json"), *target_dir.glob("run_results.json")]
    return max(candidates, key=lambda p: p.stat().st_mtime) if candidates else None
