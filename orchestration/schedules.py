"""The nightly build: yesterday's extraction partition, then everything downstream of it."""

import json
import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.assets.extraction import EXTRACTION_GROUP
from orchestration.dbt_assets import AS_OF_DATE_TAG, clientbase_dbt_assets
from orchestration.partitions import schedule_timezone

# Every extraction asset, every dbt node (seeds included: they feed models but hang below no
# extraction asset), and everything downstream of them (quality checks, CLV, the serving
# publish, whatever other modules add below the marts).
nightly_selection = (
    dg.AssetSelection.groups(EXTRACTION_GROUP) | dg.AssetSelection.assets(clientbase_dbt_assets)
).downstream()

nightly_job = dg.define_asset_job(
    "nightly_build",
    selection=nightly_selection,
    description="Load yesterday's landing files of every system, then build all models.",
)


# Most nights, the row-level and unique tests of run-stamped models check the rows written since
# they last passed (dbt_project/macros/cross_db/data_tests_since_last_pass.sql). Once a week the
# scheduled build checks every row again (dbt var data_tests_whole): what a night's window cannot
# see, such as a row changed by hand without a new stamp, is found within a week.
WHOLE_TESTS_DAY_ENV = "CLIENTBASE_WHOLE_TESTS_DAY"
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def whole_tests_weekday() -> int | None:
    """The weekday (0 = Monday) of the scheduled run that tests every row: the day the run starts,
    in the schedule's time zone; CLIENTBASE_WHOLE_TESTS_DAY=mon..sun (default sun), or never."""
    value = os.environ.get(WHOLE_TESTS_DAY_ENV, "sun").strip().lower()
    if value == "never":
        return None
    if value not in _WEEKDAYS:
        raise ValueError(
            f"{WHOLE_TESTS_DAY_ENV}={value!r}: expected one of {', '.join(_WEEKDAYS)} or never"
        )
    return _WEEKDAYS.index(value)


def nightly_partition(execution_time: datetime, tz: str) -> str:
    """Yesterday in the retailer's time zone: the last complete landing day at 02:00."""
    local = execution_time.astimezone(ZoneInfo(tz))
    return (local.date() - timedelta(days=1)).isoformat()


@dg.schedule(
    name="nightly_build_schedule",
    job=nightly_job,
    cron_schedule="0 2 * * *",
    execution_timezone=schedule_timezone(),
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
def nightly_build_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    when = context.scheduled_execution_time or datetime.now(ZoneInfo(schedule_timezone()))
    day = nightly_partition(when, schedule_timezone())
    as_of = (datetime.fromisoformat(day) + timedelta(days=1)).date().isoformat()
    run_config = {}
    if when.astimezone(ZoneInfo(schedule_timezone())).weekday() == whole_tests_weekday():
        run_config = {
            "ops": {
                clientbase_dbt_assets.op.name: {
                    "config": {"vars_json": json.dumps({"data_tests_whole": True})}
                }
            }
        }
    return dg.RunRequest(
        run_key=f"nightly-{day}",
        partition_key=day,
        tags={AS_OF_DATE_TAG: as_of},
        run_config=run_config,
    )
