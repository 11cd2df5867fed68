"""Dagster assets that hand the night's marts to their readers: the BI serving catalogue and the
audience export files for email/SMS tools. Both run only after the marts are built and refuse to
publish a night whose blocking checks failed."""

from pathlib import Path

import dagster as dg

from orchestration import exports, locks, serving
from orchestration.assets.clv import CUSTOMER_CLV_KEY
from orchestration.config import get_settings
from orchestration.dbt_assets import clientbase_dbt_assets
from orchestration.project import dbt_target_dir, latest_run_results

SERVING_GROUP = "serving"
EXPORTS_GROUP = "exports"
SERVING_KEY = dg.AssetKey(["serving", "clientbase_catalogue"])
EXPORTS_KEY = dg.AssetKey(["exports", "audiences"])


# Python assets that write a table into the warehouse's marts schema: serving must wait for
# them too, or it would publish a night without them (or wait on their write lock).
PYTHON_MART_KEYS = [CUSTOMER_CLV_KEY]


def mart_keys() -> list[dg.AssetKey]:
    """Every asset that writes the marts schema: dbt models there (keys are <schema>/<model>,
    see translator.py) and the Python marts."""
    dbt_marts = {key for key in clientbase_dbt_assets.keys if key.path[0] == serving.MART_SCHEMA}
    return sorted(dbt_marts | set(PYTHON_MART_KEYS), key=lambda k: k.to_user_string())


def run_results_for(run_id: str, target_dir: Path | None = None) -> list[Path]:
    """The run_results.json files of this run's dbt invocations (dagster-dbt writes each into
    <target>/<op>-<run id[:7]>-<uuid>/); failing that, the newest one, i.e. the build that
    produced the warehouse as it is now. An empty list means no evidence of a build."""
    target_dir = target_dir or dbt_target_dir()
    if not target_dir.exists():
        return []
    mine = sorted(target_dir.glob(f"*-{run_id[:7]}-*/run_results.json"))
    if mine:
        return mine
    latest = latest_run_results(target_dir)
    return [latest] if latest else []


def blocking_failures(run_results: list[Path], target_dir: Path | None = None) -> list[str]:
    from orchestration.checks.gate import failed_blocking_checks

    if not run_results:
        missing = (target_dir or dbt_target_dir()) / "run_results.json"
        return list(failed_blocking_checks(missing))
    failures: list[str] = []
    for path in run_results:
        failures += [f for f in failed_blocking_checks(path) if f not in failures]
    return failures


def _refusal(refused: serving.PublishRefused, what: str) -> dg.Failure:
    listing = "\n".join(f"- {reason}" for reason in refused.reasons)
    return dg.Failure(
        description=f"{what} refused: {refused}",
        metadata={
            "blocking_failures": dg.MetadataValue.md(listing or "-"),
            "blocking_failure_count": len(refused.reasons),
            "still_serving_build": serving.current_build_id() or "none",
        },
        allow_retries=False,
    )


@dg.asset(
    key=SERVING_KEY,
    group_name=SERVING_GROUP,
    deps=mart_keys(),
    kinds={"duckdb", "parquet"},
    description=(
        "The marts of one night as immutable Parquet files behind a small read-only DuckDB "
        "catalogue, data/serving/clientbase.duckdb (schema bi: PII hashed; schema marts: full "
        "PII, only with CLIENTBASE_SERVE_PII=true). Switched atomically, so BI tools always see "
        "one complete night and never wait for a build. See docs/bi.md."
    ),
)
def serving_catalogue(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    run_results = run_results_for(context.run.run_id)
    failures = blocking_failures(run_results)
    if failures:
        raise _refusal(
            serving.PublishRefused(
                f"{len(failures)} blocking check(s) failed; BI keeps serving build "
                f"{serving.current_build_id() or '(none yet)'}",
                failures,
            ),
            "Publishing",
        )
    try:
        # The gate already ran above (with this run's own dbt results); don't run it twice.
        with locks.build_step(get_settings().data_dir, "serving publish"):
            result = serving.publish()
    except serving.PublishRefused as refused:
        raise _refusal(refused, "Publishing") from None
    metadata = result.as_metadata()
    context.log.info(f"serving build {result.build_id} ({metadata['marts']} marts)")
    return dg.MaterializeResult(
        metadata={
            **{k: v for k, v in metadata.items() if not isinstance(v, dict | list)},
            "hashed_columns": dg.MetadataValue.json(metadata["hashed_columns"]),
            "dropped_columns": dg.MetadataValue.json(metadata["dropped_columns"]),
            "removed_snapshots": dg.MetadataValue.json(metadata["removed_snapshots"]),
            "dbt_run_results": [str(p) for p in run_results],
            "rows_per_mart": dg.MetadataValue.md(
                "| mart | rows |\n|---|---|\n"
                + "\n".join(f"| {m.name} | {m.row_count} |" for m in result.marts)
            ),
            "connect": dg.MetadataValue.md(
                f"`duckdb -readonly {get_settings().serving_dir / serving.CATALOGUE_NAME}`"
            ),
        }
    )


@dg.asset(
    key=EXPORTS_KEY,
    group_name=EXPORTS_GROUP,
    deps=[SERVING_KEY],
    kinds={"csv", "parquet"},
    description=(
        "Audience files for email/SMS tools (Mailchimp-style CSV, SMS phone lists) in "
        "data/exports/: only customers sendable on the channel, with their local send hour. "
        "Audiences come from CLIENTBASE_AUDIENCES_FILE or the defaults in "
        "orchestration/exports.py. "
        "Downstream of the serving publish, so a night that fails its blocking checks exports "
        "nothing."
    ),
)
def audience_exports(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    specs = exports.load_audiences()
    results, problems = [], []
    with locks.build_step(get_settings().data_dir, "audience exports"):
        for spec in specs:
            try:
                results.append((spec, exports.export_audience(spec)))
            except (exports.ExportError, exports.FilterError) as error:
                problems.append(f"{spec.name}: {error}")
                context.log.error(f"audience {spec.name} not exported: {error}")
    table = "| audience | channel | rows | file | excluded |\n|---|---|---|---|---|\n" + "\n".join(
        f"| {spec.name} | {spec.channel} | {r.rows} | `{r.path.name}` | "
        f"{', '.join(f'{k}: {v}' for k, v in r.excluded.items()) or '-'} |"
        for spec, r in results
    )
    if problems:
        # The others were written; fail anyway so a missing audience is noticed before sending.
        raise dg.Failure(
            description=f"{len(problems)} of {len(specs)} audiences could not be exported",
            metadata={
                "problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems)),
                "exported": dg.MetadataValue.md(table),
            },
        )
    return dg.MaterializeResult(
        metadata={
            "audiences": dg.MetadataValue.md(table),
            "files": len(results),
            "rows": sum(r.rows for _, r in results),
        }
    )
