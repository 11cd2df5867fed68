"""What a night's Great Expectations step costs once the Data Docs history has grown.

GX's index page reads every stored validation result each time it is built, and a night builds
it once per system. This script takes a built data folder (`clientbase demo`, any size), copies
its GX folder, fakes NIGHTS nights of stored results (copies of the newest result of each suite,
one per night) and times the validation of one system, all in one run:

  1. the history as it is (the reference);
  2. NIGHTS nights kept, the index unbounded and nothing pruned (clientbase before the cap);
  3. NIGHTS nights kept, the index capped at DOCS_INDEX_RESULTS, nothing pruned;
  4. the nightly default: results older than CLIENTBASE_GX_KEEP_DAYS pruned, index capped
     (timed on the run after the pruning one, i.e. a steady-state night).

    CLIENTBASE_DATA_DIR=data python benchmarks/gx_docs_history.py --system crm --nights 365
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orchestration.checks import great_expectations as gx_checks
from orchestration.config import get_settings


def _fake_history(validations: Path, nights: int) -> int:
    """One copy of each suite's newest result per night, dated 1..nights days ago."""
    newest: dict[Path, Path] = {}
    for result in validations.rglob("*.json"):
        run_dir = result.parent
        suite_dir = run_dir.parent
        if suite_dir not in newest or run_dir.name > newest[suite_dir].parent.name:
            newest[suite_dir] = result
    now = datetime.now(UTC)
    written = 0
    for suite_dir, result in newest.items():
        for night in range(1, nights + 1):
            run_time = now - timedelta(days=night, minutes=5)
            run_dir = suite_dir / run_time.strftime("%Y%m%dT%H%M%S.%fZ")
            run_dir.mkdir()
            shutil.copyfile(result, run_dir / result.name)
            written += 1
    return written


def _timed(settings, system: str, day: str | None) -> float:
    started = time.perf_counter()
    gx_checks.validate_system(system, day, settings=settings, record_metrics=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system", default="crm")
    parser.add_argument("--day", help="the raw partition to validate (default: the newest)")
    parser.add_argument("--nights", type=int, default=365)
    args = parser.parse_args()

    settings = get_settings()
    source = settings.reports_dir / "gx"
    if not source.is_dir():
        raise SystemExit(f"no GX folder at {source}: build first (`clientbase demo`)")
    day = args.day or gx_checks.latest_partition(settings.raw_dir, args.system)

    rows: list[tuple[str, float, int]] = []
    with tempfile.TemporaryDirectory(prefix="gx_history_") as scratch:

        def case(name: str, nights: int, limit: int | None, keep: int, runs: int = 1) -> None:
            reports = Path(scratch) / name
            shutil.copytree(source, reports / "gx")
            validations = reports / "gx" / "gx" / "uncommitted" / "validations"
            stored = _fake_history(validations, nights) if nights else 0
            local = replace(settings, reports_dir=reports)
            previous_limit, previous_keep = gx_checks.DOCS_INDEX_RESULTS, os.environ.get(
                gx_checks.KEEP_DAYS_ENV
            )
            gx_checks.DOCS_INDEX_RESULTS = limit
            os.environ[gx_checks.KEEP_DAYS_ENV] = str(keep)
            try:
                seconds = [_timed(local, args.system, day) for _ in range(runs)][-1]
            finally:
                gx_checks.DOCS_INDEX_RESULTS = previous_limit
                if previous_keep is None:
                    os.environ.pop(gx_checks.KEEP_DAYS_ENV, None)
                else:
                    os.environ[gx_checks.KEEP_DAYS_ENV] = previous_keep
            left = sum(1 for _ in validations.rglob("*.json"))
            rows.append((name, seconds, left))
            print(f"  {name}: {seconds:.2f} s ({stored:,} results faked, {left:,} stored after)")

        forever = 100 * 365
        print(f"GX step of system {args.system!r} (partition {day}), {args.nights} nights faked")
        case("history as built", 0, gx_checks.DOCS_INDEX_RESULTS, forever)
        case("unbounded index, nothing pruned", args.nights, None, forever)
        case("index capped, nothing pruned", args.nights, gx_checks.DOCS_INDEX_RESULTS, forever)
        case(
            "nightly default (pruned, capped)",
            args.nights,
            gx_checks.DOCS_INDEX_RESULTS,
            gx_checks.DEFAULT_KEEP_DAYS,
            runs=2,
        )

    reference = rows[0][1]
    print()
    print("| case | GX step | vs history as built | results stored after |")
    print("|---|---|---|---|")
    for name, seconds, left in rows:
        print(f"| {name} | {seconds:.2f} s | {seconds / reference:.2f}x | {left:,} |")


if __name__ == "__main__":
    main()
