"""The clientbase code location: the one place that builds Dagster's Definitions.

To add something, import it and append it to the matching list below (one line each).
"""

from __future__ import annotations

import dagster as dg

from orchestration.assets.clv import customer_clv
from orchestration.assets.contact_points import contact_point_checks
from orchestration.assets.extraction import extraction_assets
from orchestration.assets.reports import nightly_report
from orchestration.assets.serving import audience_exports, serving_catalogue
from orchestration.checks.great_expectations import build_gx_asset_checks
from orchestration.checks.identity import identity_checks
from orchestration.dbt_assets import clientbase_dbt_assets
from orchestration.resources import build_resources
from orchestration.schedules import nightly_build_schedule, nightly_job
from orchestration.sensors import landing_sensor

assets = [
    *extraction_assets,
    contact_point_checks,
    clientbase_dbt_assets,
    customer_clv,
    serving_catalogue,
    nightly_report,
    audience_exports,
]

asset_checks: list = [*identity_checks, *build_gx_asset_checks()]

jobs = [nightly_job]

schedules = [nightly_build_schedule]

sensors = [landing_sensor]

defs = dg.Definitions(
    assets=assets,
    asset_checks=asset_checks,
    jobs=jobs,
    schedules=schedules,
    sensors=sensors,
    resources=build_resources(),
)
