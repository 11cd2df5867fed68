"""The dbt CLI resource skips dagster-dbt's `dbt --version` subprocess and in-process adapter
(orchestration/resources.py) and still runs dbt as dagster-dbt does."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DagsterDbtProjectPreparer, DbtCliResource

from orchestration.project import _ClientbaseProjectPreparer, dbt_project
from orchestration.resources import ClientbaseDbtCliResource, build_resources


def test_overridden_members_still_exist_in_dagster_dbt():
    # A dagster-dbt upgrade that renames them would leave the overrides dead code and bring
    # the ~12 s a night back without a word: fail here instead.
    assert callable(DbtCliResource._initialize_dbt_core_adapter)
    assert isinstance(DbtCliResource.__dict__.get("_cli_version"), functools.cached_property)
    assert callable(DagsterDbtProjectPreparer._prepare_manifest)
    assert callable(DagsterDbtProjectPreparer._invalidate_seeds_in_partial_parse)


def test_version_is_the_one_dbt_reports():
    output = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "--version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    reported = re.search(r"(\d+\.\d+\.\d+)", output).group(1)
    resource = ClientbaseDbtCliResource(project_dir=dbt_project)
    assert str(resource._cli_version) == reported
    assert resource._cli_version.major < 2  # dbt Core: dagster-dbt parses its event stream


def test_the_code_location_and_the_parse_use_it(tmp_path):
    assert isinstance(build_resources()["dbt"], ClientbaseDbtCliResource)
    target = tmp_path / "target"
    invocation = ClientbaseDbtCliResource(project_dir=dbt_project).cli(
        ["parse", "--quiet"], target_path=target
    )
    invocation.wait()
    assert invocation.is_successful()
    assert invocation.adapter is None
    assert (target / "manifest.json").is_file()
    assert issubclass(_ClientbaseProjectPreparer, DagsterDbtProjectPreparer)
