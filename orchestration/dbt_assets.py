"""The dbt project as Dagster assets: `dbt build` streamed, so dbt tests show as asset checks."""

import json
from datetime import date, timedelta

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, PARTITION_NAME_TAG
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration import locks
from orchestration.config import get_settings
from orchestration.project import as_of_environment, dbt_project
from orchestration.translator import ClientbaseTranslator

AS_OF_DATE_TAG = "clientbase/as_of_date"

if not dbt_project.manifest_path.exists():
    raise FileNotFoundError(
        f"No dbt manifest at {dbt_project.manifest_path}. Prepare it before loading the code "
        "location: `cd dbt_project && dbt parse --profiles-dir ..` (same DBT_TARGET_PATH), or "
        "`python -c 'from orchestration.project import prepare_manifest; prepare_manifest()'`; "
        "`dagster dev` prepares it by itself."
    )


class DbtBuildConfig(dg.Config):
    """Run configuration of the dbt build (all optional)."""

    as_of_date: str | None = None  # YYYY-MM-DD the marts are computed as of
    # Further dbt vars for this run only, as JSON (e.g. a data set's own hygiene thresholds);
    # the project's defaults stay in dbt_project.yml.
    vars_json: str | None = None
    # dbt unit tests check SQL logic on fixed inputs: the data of the night cannot change their
    # outcome, so (as dbt's documentation recommends) the production build skips them and CI
    # runs them (`make test`, tests/test_dbt_unit_tests.py). True runs them here as well.
    unit_tests: bool = False


def as_of_date_for_run(config_value: str | None, tags: dict[str, str]) -> str | None:
    """The business date dbt computes the marts as of (CLIENTBASE_AS_OF_DATE, see
    project.as_of_environment): explicit run config first, then
    the run tag, then the day after the extracted partition (a nightly run loads yesterday's
    files and computes the marts as of today). None lets dbt default to today."""
    explicit = config_value or tags.get(AS_OF_DATE_TAG)
    if explicit:
        return date.fromisoformat(explicit).isoformat()
    partition = tags.get(ASSET_PARTITION_RANGE_END_TAG) or tags.get(PARTITION_NAME_TAG)
    if partition:
        try:
            return (date.fromisoformat(partition) + timedelta(days=1)).isoformat()
        except ValueError:
            return None
    return None


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=ClientbaseTranslator(),
)
def clientbase_dbt_assets(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig
):
    args = ["build"] if config.unit_tests else ["build", "--exclude-resource-type", "unit_test"]
    as_of = as_of_date_for_run(config.as_of_date, dict(context.run.tags))
    if as_of:
        context.log.info(f"dbt build as of {as_of}")
    # the run's own vars, as the CLI parsed with them (any difference costs a full re-parse)
    run_vars = json.loads(config.vars_json) if config.vars_json else None
    if run_vars:
        args += ["--vars", json.dumps(run_vars)]
    # dbt reads the raw zone and rewrites the warehouse: no erasure in between (locks.py).
    # The dbt process starts inside dbt.cli() and takes the as-of date from its environment.
    with locks.build_step(get_settings().data_dir, "dbt build"), as_of_environment(as_of):
        yield from dbt.cli(args, context=context).stream()
