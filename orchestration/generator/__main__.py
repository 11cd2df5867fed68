"""Command line: python -m orchestration.generator --seed 42 --size S --out <landing dir>."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date

from .engine import generate
from .settings import DEFAULT_END_DATE, SIZES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.generator",
                                     description=__doc__)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--size", choices=sorted(SIZES), default="S")
    parser.add_argument("--out", required=True, help="landing folder to create (must be empty)")
    parser.add_argument("--end-date", type=date.fromisoformat, default=DEFAULT_END_DATE,
                        help=f"last landing day (default {DEFAULT_END_DATE})")
    parser.add_argument("--days", type=int, default=None,
                        help="only the first N days of the window (for timing big sizes)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        manifest = generate(args.out, size=args.size, seed=args.seed, end_date=args.end_date,
                            days=args.days, progress=not args.no_progress)
    except FileExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    rows = sum(v["rows"] for v in manifest["files"].values())
    print(f"size {args.size} seed {args.seed}: {manifest['days']} days, {rows:,} rows, "
          f"{elapsed:.1f} s -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
