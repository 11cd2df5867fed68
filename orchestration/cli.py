"""`clientbase` command line: generate demo data, run the whole build through Dagster, summarise."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from orchestration.config import export_environment, get_settings

if TYPE_CHECKING:
    import dagster as dg


def _landing_window(landing_dir: Path) -> tuple[str, str]:
    """First and last day folder found in the landing zone (any daily system)."""
    from orchestration.extraction.loader import landing_window_days

    days = landing_window_days(landing_dir)
    if not days:
        raise SystemExit(
            f"No landing day folders under {landing_dir}. Generate demo data "
            "(`clientbase generate`) or point CLIENTBASE_LANDING_DIR at your exports."
        )
    return days[0], days[-1]


def cmd_generate(args: argparse.Namespace) -> int:
    from orchestration.generator import generate

    landing = get_settings().landing_dir
    if landing.exists() and any(landing.iterdir()):
        if not args.force:
            print(f"{landing} already holds data; keeping it (use --force to regenerate)")
            return 0
        import shutil

        shutil.rmtree(landing)
    started = time.monotonic()
    manifest = generate(landing, size=args.size, seed=args.seed, progress=True)
    print(
        f"generated size {args.size} (seed {args.seed}) into {landing} "
        f"in {time.monotonic() - started:.0f}s: {json.dumps(manifest.get('rows', {}))}"
    )
    return 0


# Dagster records one materialisation event per partition and asset; on the default SQLite
# instance that costs ~0.1 s each, i.e. minutes for years of daily partitions. The history is
# therefore bootstrapped with the same extraction code outside Dagster's bookkeeping, and the
# run that Dagster tracks covers the most recent days (like a real nightly run) plus the build.
TRACKED_DAYS = 7


def run_build(
    first_day: str, last_day: str, as_of: str | None = None, dbt_vars: dict | None = None
) -> bool:
    """Load [first_day, last_day] and materialise the whole asset graph: extraction, dbt build
    with its tests, asset checks and everything downstream (CLV, publish, exports, reports).
    Runs in the Dagster instance of DAGSTER_HOME, so the UI shows it."""
    import dagster as dg
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    from orchestration.extraction.__main__ import extract_all
    from orchestration.extraction.loader import every_day
    from orchestration.project import as_of_environment, prepare_manifest

    settings = get_settings()
    last = date.fromisoformat(last_day)
    tracked_first = max(date.fromisoformat(first_day), last - timedelta(days=TRACKED_DAYS - 1))
    history = every_day(first_day, (tracked_first - timedelta(days=1)).isoformat())
    if history:
        started = time.monotonic()
        results = extract_all(settings.landing_dir, settings.raw_dir, days=history)
        loaded = sum(r.rows_loaded for r in results)
        quarantined = sum(r.rows_quarantined for r in results)
        print(
            f"history {history[0]}..{history[-1]}: {loaded:,} rows loaded, {quarantined:,} "
            f"quarantined in {time.monotonic() - started:.0f}s"
        )

    # The dbt assets read the manifest when their module is imported: parse first, with the
    # vars and the as-of date the dbt build will have.
    as_of = (date.fromisoformat(as_of) if as_of else last + timedelta(days=1)).isoformat()
    with as_of_environment(as_of):
        prepare_manifest(dbt_vars)

    from orchestration.dbt_assets import AS_OF_DATE_TAG
    from orchestration.definitions import defs
    from orchestration.schedules import nightly_job

    instance = dg.DagsterInstance.get()
    job = defs.resolve_job_def(nightly_job.name)
    result = job.execute_in_process(
        instance=instance,
        tags={
            ASSET_PARTITION_RANGE_START_TAG: tracked_first.isoformat(),
            ASSET_PARTITION_RANGE_END_TAG: last_day,
            AS_OF_DATE_TAG: as_of,
        },
        run_config={
            "loggers": {"console": {"config": {"log_level": "INFO"}}},
            **(
                {"ops": {"clientbase_dbt_assets": {"config": {"vars_json": json.dumps(dbt_vars)}}}}
                if dbt_vars
                else {}
            ),
        },
        raise_on_error=False,
    )
    checks = result.get_asset_check_evaluations()
    failed = [c for c in checks if not c.passed]
    print(
        f"Dagster run {result.run_id}: {'success' if result.success else 'FAILED'}; "
        f"asset checks: {len(checks) - len(failed)} passed, {len(failed)} failed"
    )
    for check in failed:
        print(
            f"    failed [{check.severity.value}] {check.asset_key.to_user_string()}:"
            f"{check.check_name}"
        )
    for step_key, seconds in step_seconds(instance, result.run_id):
        print(f"    step {seconds:8.1f} s  {step_key}")
    return result.success


def step_seconds(instance: dg.DagsterInstance, run_id: str) -> list[tuple[str, float]]:
    """Wall seconds of each step of a finished run, slowest first, from its event log: where a
    build's time went outside dbt (extraction, checks, publishing...), for the benchmark."""
    from dagster._core.events import DagsterEventType

    ends = {DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE}
    started: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for entry in instance.all_logs(run_id, of_type={DagsterEventType.STEP_START, *ends}):
        step_key = entry.step_key
        if entry.dagster_event.event_type == DagsterEventType.STEP_START:
            started[step_key] = entry.timestamp
        elif step_key in started:
            seconds[step_key] = entry.timestamp - started[step_key]
    return sorted(seconds.items(), key=lambda item: -item[1])


def cmd_build(args: argparse.Namespace) -> int:
    settings = get_settings()
    first, last = _landing_window(settings.landing_dir)
    first = args.start or first
    last = args.end or last
    ok = run_build(first, last, args.as_of)
    print_summary()
    return 0 if ok else 1


def print_summary() -> None:
    """Rows per layer, check outcomes, and where to look next."""
    import duckdb

    settings = get_settings()
    print("\n== clientbase summary ==")
    if settings.warehouse_path.exists():
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
        try:
            # Rows are counted in tables only: a table's count comes from its metadata, while
            # counting a view runs it (the RFM snapshots view: ~18 s on size L).
            relations = con.execute(
                "select table_schema, table_name, table_type = 'VIEW' "
                "from information_schema.tables "
                "where table_schema in ('staging', 'intermediate', 'marts', 'reference') "
                "order by 1, 2"
            ).fetchall()
            per_layer: dict[str, list[int]] = {}
            for schema, table, is_view in relations:
                layer = per_layer.setdefault(schema, [0, 0, 0])
                if is_view:
                    layer[2] += 1
                    continue
                layer[0] += 1
                layer[1] += con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            for schema, (tables, total, views) in per_layer.items():
                also = f" (+{views} view{'s' if views > 1 else ''})" if views else ""
                print(f"  {schema:<13} {tables:>3} tables {total:>14,} rows{also}")
        finally:
            con.close()
    else:
        print(f"  no warehouse at {settings.warehouse_path}")
    quarantine = settings.quarantine_dir
    if quarantine.exists():
        import duckdb

        files = list(quarantine.rglob("*.parquet"))
        if files:
            count, reasons = (
                duckdb.connect()
                .execute(
                    "select count(*), count(distinct reason) "
                    "from read_parquet(?, union_by_name = true)",
                    [f"{quarantine}/**/*.parquet"],
                )
                .fetchone()
            )
            print(f"  quarantine    {count:,} rows ({reasons} distinct reasons) in {quarantine}")
    _print_check_outcomes()
    print(
        "\nNext:\n"
        "  make dev                       # Dagster UI on http://127.0.0.1:3000\n"
        f"  duckdb -readonly {settings.serving_dir / 'clientbase.duckdb'}   # what BI tools read\n"
        f"  open {settings.reports_dir / 'index.html'}   # tonight's pictures\n"
    )


def _print_check_outcomes() -> None:
    """Outcomes of dbt tests (from run_results.json) of the last build."""
    from orchestration.project import latest_run_results

    run_results = latest_run_results()
    if run_results is None:
        return
    results = json.loads(run_results.read_text())["results"]
    tests = [r for r in results if r["unique_id"].startswith(("test.", "unit_test."))]
    by_status: dict[str, int] = {}
    for r in tests:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    models = [r for r in results if r["unique_id"].startswith(("model.", "seed."))]
    print(
        f"  dbt           {len(models)} models/seeds built, tests: "
        + ", ".join(f"{n} {s}" for s, n in sorted(by_status.items()))
    )
    for r in tests:
        if r["status"] in ("fail", "error", "warn"):
            print(f"    {r['status']:<5} {r['unique_id']}: {(r.get('message') or '')[:120]}")


def cmd_demo(args: argparse.Namespace) -> int:
    cmd_generate(args)
    settings = get_settings()
    first, last = _landing_window(settings.landing_dir)
    ok = run_build(first, last)
    print_summary()
    return 0 if ok else 1


# CDNOW (1997-98) has no e-mails, phones or consents and its buyers lapsed decades ago: its
# contact base is, truthfully, all inactive and unsendable. The hygiene rates still run and
# warn; they only stop blocking, since the sales marts are what this data set is for.
CDNOW_HYGIENE_THRESHOLDS = {
    name: {"warn": 0.0, "error": 1.0}
    for name in (
        "stale_time_zone_share",
        "inactive_share",
        "never_active_share",
        "undeliverable_email_share",
        "hard_bounce_email_share",
        "duplicate_share",
        "not_sendable_share",
    )
}


def cmd_demo_cdnow(args: argparse.Namespace) -> int:
    """CDNOW gets a data folder of its own (default data/cdnow) so the synthetic demo stays."""
    import os

    from orchestration.cdnow import write_cdnow_landing

    if "CLIENTBASE_DATA_DIR" not in os.environ or not args.keep_data_dir:
        data_dir = get_settings().data_dir / "cdnow"
        os.environ["CLIENTBASE_DATA_DIR"] = str(data_dir)
        os.environ["CLIENTBASE_WAREHOUSE"] = str(data_dir / "warehouse.duckdb")
        os.environ.pop("CLIENTBASE_LANDING_DIR", None)
    settings = get_settings()
    counts = write_cdnow_landing(settings.landing_dir, force=True)
    print(f"CDNOW landing files in {settings.landing_dir}: {counts}")
    first, last = _landing_window(settings.landing_dir)
    ok = run_build(first, last, dbt_vars={"hygiene_thresholds": CDNOW_HYGIENE_THRESHOLDS})
    print_summary()
    print(f"To browse it: CLIENTBASE_DATA_DIR={settings.data_dir} make dev")
    return 0 if ok else 1


def _cmd_erase(args: argparse.Namespace) -> int:
    from orchestration.erasure import main_erase

    return main_erase(args)


def main(argv: list[str] | None = None) -> int:
    export_environment()
    argv = list(sys.argv[1:] if argv is None else argv)
    # Sub-tools with their own options are passed through whole.
    if argv[:1] == ["export"]:
        from orchestration.exports import main as export_main

        return export_main(argv[1:])
    if argv[:1] == ["extract"]:
        from orchestration.extraction.__main__ import main as extract_main

        return extract_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="clientbase",
        description=__doc__,
        epilog="Also: `clientbase extract --help` (landing -> raw zone only) and "
        "`clientbase export --help` (audience files for email/SMS tools).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write the demo retailer's landing files")
    demo = sub.add_parser("demo", help="generate (if needed), build everything, summarise")
    for p in (gen, demo):
        p.add_argument("--size", choices=["S", "M", "L"], default="M")
        p.add_argument("--seed", type=int, default=42)
        p.add_argument("--force", action="store_true", help="regenerate over existing data")
    gen.set_defaults(func=cmd_generate)
    demo.set_defaults(func=cmd_demo)

    build = sub.add_parser("build", help="run extraction + dbt build + checks for a day range")
    build.add_argument("--start", help="first landing day (default: first found)")
    build.add_argument("--end", help="last landing day (default: last found)")
    build.add_argument("--as-of", help="business date of the marts (default: end + 1 day)")
    build.set_defaults(func=cmd_build)

    cdnow = sub.add_parser("demo-cdnow", help="the pipeline on the real CDNOW transactions")
    cdnow.add_argument(
        "--keep-data-dir",
        action="store_true",
        help="build in CLIENTBASE_DATA_DIR itself instead of its cdnow/ subfolder",
    )
    cdnow.set_defaults(func=cmd_demo_cdnow)

    erase = sub.add_parser(
        "erase",
        help="erase a customer everywhere (tombstone + scrub raw, warehouse, serving, exports)",
    )
    erase.add_argument("--email")
    erase.add_argument("--phone")
    erase.add_argument("--card", help="loyalty card number")
    erase.add_argument("--customer-id")
    erase.add_argument("--prove", action="store_true", help="show where they were / are now")
    erase.add_argument("--request-id", help="with --prove: one erasure request")
    erase.add_argument(
        "--no-republish", action="store_true", help="leave serving to the next nightly publish"
    )
    erase.set_defaults(func=_cmd_erase)

    summary = sub.add_parser("summary", help="print the summary of the last build")
    summary.set_defaults(func=lambda _args: print_summary() or 0)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
