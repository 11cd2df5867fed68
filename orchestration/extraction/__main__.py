"""Command line: build the raw zone from a landing folder (all systems, every day found).

python -m orchestration.extraction --landing data/landing --raw data/raw [--system crm ...]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from orchestration.config import get_settings
from orchestration.extraction.loader import ExtractionError, LoadResult, discover_days, load_system
from orchestration.extraction.schemas import DAILY_SYSTEMS, SYSTEMS


def extract_all(
    landing_dir: Path,
    raw_dir: Path,
    systems: list[str] | None = None,
    days: list[str] | None = None,
    workers: int = 3,
) -> list[LoadResult]:
    """Load the given systems (all by default). Daily systems load `days`, or, when None, every
    day from the first to the last day folder found in any system, so that every system has a
    partition file for every day of the window (empty where it exported nothing)."""
    systems = systems or list(SYSTEMS)
    if days is None:
        found = sorted({d for s in DAILY_SYSTEMS for d in discover_days(landing_dir, s)})
        days = _every_day(found[0], found[-1]) if found else []
    loaded_at = datetime.now(UTC)

    def one(system: str) -> list[LoadResult]:
        window = days if system in DAILY_SYSTEMS else None
        return list(load_system(system, landing_dir, raw_dir, window, loaded_at=loaded_at).values())

    # Systems load in parallel: a load spends most of its time creating and renaming one file
    # per day, waiting on the file system rather than the CPU.
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return [r for batch in pool.map(one, systems) for r in batch]


def _every_day(first: str, last: str) -> list[str]:
    from datetime import date, timedelta

    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m orchestration.extraction", description=__doc__)
    parser.add_argument("--landing", type=Path, default=settings.landing_dir)
    parser.add_argument("--raw", type=Path, default=settings.raw_dir)
    parser.add_argument("--system", action="append", choices=SYSTEMS, help="repeatable")
    parser.add_argument("--day", action="append", help="YYYY-MM-DD, repeatable (default: all)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)

    if not args.landing.is_dir():
        print(f"landing folder {args.landing} does not exist", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        results = extract_all(args.landing, args.raw, args.system, args.day)
    except ExtractionError as error:
        print(f"extraction failed: {error}", file=sys.stderr)
        return 1
    for r in results:
        print(r.summary() if not r.partitions else _short(r))
    total_read = sum(r.rows_read for r in results)
    total_q = sum(r.rows_quarantined for r in results)
    print(
        f"{len(results)} tables, {total_read} rows read, {total_read - total_q} loaded, "
        f"{total_q} quarantined in {time.monotonic() - started:.1f}s → {args.raw}"
    )
    return 0


def _short(r: LoadResult) -> str:
    reasons = ", ".join(f"{k}={v}" for k, v in list(r.quarantine_reasons.items())[:6])
    return (
        f"{r.key:<22} {len(r.partitions):>4} days {len(r.files):>4} files "
        f"{r.rows_read:>9} read {r.rows_loaded:>9} loaded {r.rows_quarantined:>6} quarantined"
        + (f"  [{reasons}]" if reasons else "")
    )


if __name__ == "__main__":
    sys.exit(main())
