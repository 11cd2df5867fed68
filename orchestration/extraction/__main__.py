"""Command line: build the raw zone from a landing folder (all systems, every day found).

python -m orchestration.extraction --landing data/landing --raw data/raw [--system crm ...]
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from orchestration.config import get_settings
from orchestration.extraction.loader import ExtractionError, LoadResult, extract_all
from orchestration.extraction.schemas import SYSTEMS

__all__ = ["extract_all", "main"]


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
    total_erased = sum(r.rows_erased for r in results)
    print(
        f"{len(results)} tables, {total_read} rows read, "
        f"{sum(r.rows_loaded for r in results)} loaded, {total_q} quarantined"
        + (f", {total_erased} erased (tombstoned people)" if total_erased else "")
        + f" in {time.monotonic() - started:.1f}s → {args.raw}"
    )
    return 0


def _short(r: LoadResult) -> str:
    reasons = ", ".join(f"{k}={v}" for k, v in list(r.quarantine_reasons.items())[:6])
    return (
        f"{r.key:<22} {len(r.partitions):>4} days {len(r.files):>4} files "
        f"{r.rows_read:>9} read {r.rows_loaded:>9} loaded {r.rows_quarantined:>6} quarantined"
        + (f" {r.rows_erased:>5} erased" if r.rows_erased else "")
        + (f"  [{reasons}]" if reasons else "")
    )


if __name__ == "__main__":
    sys.exit(main())
