"""The daily partitions of the extraction assets: one partition per landing day folder."""

from __future__ import annotations

import os

import dagster as dg

# The demo generator ends its window on 2026-10-31 and size L covers three years, so the
# default start covers every size; days before a system's first export simply load empty.
DEFAULT_START_DATE = "2023-11-01"
DEFAULT_SCHEDULE_TZ = "Europe/Moscow"


def start_date() -> str:
    return os.environ.get("CLIENTBASE_START_DATE", DEFAULT_START_DATE)


def schedule_timezone() -> str:
    return os.environ.get("CLIENTBASE_SCHEDULE_TZ", DEFAULT_SCHEDULE_TZ)


# Partition keys are the landing folders' YYYY-MM-DD names, days in the retailer's time zone
# (the one the nightly schedule runs in). end_offset=1 keeps today's partition open, so files a
# source drops during the day can be loaded by the sensor before the nightly run.
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=start_date(),
    timezone=schedule_timezone(),
    end_offset=1,
)
