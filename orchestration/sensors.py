"""Watch the landing folder and load what arrived: only the affected systems and days."""

import hashlib
import json
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from orchestration.assets.extraction import EXTRACTION_ASSET_KEYS, system_asset_keys
from orchestration.config import get_settings
from orchestration.extraction.schemas import DAILY_SYSTEMS, SNAPSHOT_SYSTEMS, tables_of
from orchestration.partitions import daily_partitions

# A file younger than this may still be being written; it waits for the next tick.
SETTLE_SECONDS = float(os.environ.get("CLIENTBASE_SENSOR_SETTLE_SECONDS", "10"))


@dataclass(frozen=True)
class LandedFile:
    system: str
    day: str | None  # None for snapshot systems (reference)
    rel_path: str
    mtime_ns: int
    size: int


def scan_landing(landing_dir: Path, settled_before_ns: int | None = None) -> list[LandedFile]:
    """Every expected landing file present (known file names only, settled ones only)."""
    found: list[LandedFile] = []
    for system in (*DAILY_SYSTEMS, *SNAPSHOT_SYSTEMS):
        base = landing_dir / system
        if not base.is_dir():
            continue
        names = {t.file_name for t in tables_of(system)}
        daily = system in DAILY_SYSTEMS
        folders = (
            [(p, p.name) for p in base.iterdir() if p.is_dir() and _is_day(p.name)]
            if daily
            else [(base, None)]
        )
        for folder, day in folders:
            for name in names:
                path = folder / name
                try:
                    st = path.stat()
                except FileNotFoundError:
                    continue
                if settled_before_ns is not None and st.st_mtime_ns > settled_before_ns:
                    continue
                rel = path.relative_to(landing_dir).as_posix()
                found.append(LandedFile(system, day, rel, st.st_mtime_ns, st.st_size))
    return sorted(found, key=lambda f: f.rel_path)


def _is_day(name: str) -> bool:
    try:
        return date.fromisoformat(name).isoformat() == name
    except ValueError:
        return False


def _contiguous(days: list[str]) -> list[tuple[str, str]]:
    ranges: list[tuple[str, str]] = []
    for day in sorted(days):
        if ranges and date.fromisoformat(ranges[-1][1]) + timedelta(days=1) == date.fromisoformat(
            day
        ):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


@dataclass(frozen=True)
class SensorCursor:
    """What the sensor has handed to runs already, kept small for a multi-year landing folder.

    `mtime_ns`: the newest file mtime seen; anything written later is new. `known`: the files
    seen, as contiguous day ranges per system file (one range for a healthy export), so a day
    folder copied in with its old mtimes preserved (cp -p, rsync -t) is still noticed."""

    mtime_ns: int = -1
    known: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: str | None) -> "SensorCursor":
        if not raw:
            return cls()
        data = json.loads(raw)
        known = {k: [tuple(r) for r in v] for k, v in data.get("known", {}).items()}
        return cls(int(data["mtime_ns"]), known)

    def dump(self) -> str:
        return json.dumps({"mtime_ns": self.mtime_ns, "known": self.known}, sort_keys=True)

    @staticmethod
    def _series(f: LandedFile) -> str:
        # the file's path with the day folder taken out: crm/contacts.csv, reference/stores.csv
        return f"{f.system}/{Path(f.rel_path).name}"

    def _is_known(self, f: LandedFile) -> bool:
        ranges = self.known.get(self._series(f), [])
        day = f.day or ""
        return any(start <= day <= end for start, end in ranges)

    def changed(self, files: list[LandedFile]) -> list[LandedFile]:
        return [f for f in files if f.mtime_ns > self.mtime_ns or not self._is_known(f)]

    def advance(self, changed: list[LandedFile]) -> "SensorCursor":
        known = {k: list(v) for k, v in self.known.items()}
        by_series: dict[str, set[str]] = defaultdict(set)
        for f in changed:
            by_series[self._series(f)].add(f.day or "")
        for series, days in by_series.items():
            covered = {d for d in days if not d}  # snapshot files have no day
            merged = _merge_ranges(known.get(series, []), sorted(days - covered))
            known[series] = merged or [("", "")]
        mtime = max([self.mtime_ns, *(f.mtime_ns for f in changed)])
        return SensorCursor(mtime, known)


def _merge_ranges(ranges: list[tuple[str, str]], days: list[str]) -> list[tuple[str, str]]:
    every = {d for start, end in ranges if start for d in _days_between(start, end)} | set(days)
    return _contiguous(sorted(every)) + [r for r in ranges if not r[0]]


def _days_between(start: str, end: str) -> list[str]:
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def run_key_for(files: list[LandedFile]) -> str:
    """Same files with the same mtimes and sizes → same key, so a re-evaluated tick (or a
    second daemon) never launches the same load twice."""
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.rel_path):
        digest.update(f"{f.rel_path}\0{f.mtime_ns}\0{f.size}\n".encode())
    return digest.hexdigest()[:24]


def plan_runs(
    changed: list[LandedFile], valid_days: set[str] | None = None
) -> tuple[list[dg.RunRequest], list[str]]:
    """Group changed files into one run per system and contiguous day range."""
    requests: list[dg.RunRequest] = []
    skipped: list[str] = []
    by_system: dict[str, list[LandedFile]] = defaultdict(list)
    for f in changed:
        if f.day is not None and valid_days is not None and f.day not in valid_days:
            skipped.append(f.rel_path)
            continue
        by_system[f.system].append(f)
    for system in sorted(by_system):
        files = by_system[system]
        keys = system_asset_keys(system)
        if system in SNAPSHOT_SYSTEMS:
            requests.append(
                dg.RunRequest(
                    run_key=f"landing-{system}-{run_key_for(files)}",
                    asset_selection=keys,
                    tags={"clientbase/trigger": "landing_sensor", "system": system},
                )
            )
            continue
        for start, end in _contiguous(sorted({f.day for f in files if f.day})):
            in_range = [f for f in files if start <= (f.day or "") <= end]
            tags = {"clientbase/trigger": "landing_sensor", "system": system}
            run_key = f"landing-{system}-{start}-{end}-{run_key_for(in_range)}"
            if start == end:
                requests.append(
                    dg.RunRequest(
                        run_key=run_key, asset_selection=keys, partition_key=start, tags=tags
                    )
                )
            else:
                tags |= {ASSET_PARTITION_RANGE_START_TAG: start, ASSET_PARTITION_RANGE_END_TAG: end}
                requests.append(dg.RunRequest(run_key=run_key, asset_selection=keys, tags=tags))
    return requests, skipped


@dg.sensor(
    name="landing_sensor",
    target=dg.AssetSelection.assets(*EXTRACTION_ASSET_KEYS),
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Loads new or changed landing files: one run per system and day range.",
)
def landing_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    landing_dir = get_settings().landing_dir
    if not landing_dir.is_dir():
        return dg.SkipReason(f"landing folder {landing_dir} does not exist")
    cursor = SensorCursor.parse(context.cursor)
    settled_ns = time.time_ns() - int(SETTLE_SECONDS * 1e9)
    files = scan_landing(landing_dir, settled_before_ns=settled_ns)
    changed = cursor.changed(files)
    if not changed:
        return dg.SkipReason(f"no new files in {landing_dir}")
    valid_days = set(daily_partitions.get_partition_keys())
    requests, skipped = plan_runs(changed, valid_days)
    if skipped:
        context.log.warning(
            f"{len(skipped)} files outside the partition window "
            f"(CLIENTBASE_START_DATE={daily_partitions.start.date()}) not loaded, e.g. {skipped[0]}"
        )
    return dg.SensorResult(run_requests=requests, cursor=cursor.advance(changed).dump())
