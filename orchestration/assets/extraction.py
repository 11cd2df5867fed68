"""Extraction assets: one per source system, loading its landing files into the raw zone.

Each system is one op (a multi-asset) producing one asset per raw table, raw/<system>/<table>,
so a dbt source maps onto exactly one asset while the files of a system load together. Daily
systems are partitioned by landing day with a single-run backfill policy: a backfill of a year
is one run and one DuckDB query per batch of days, not 365 runs.
"""

from datetime import UTC, datetime

import dagster as dg

from orchestration.checks import extraction as extraction_checks
from orchestration.extraction import LoadResult, TableSchema, tables_of
from orchestration.extraction.schemas import LINEAGE_COLUMNS, SYSTEMS
from orchestration.partitions import daily_partitions
from orchestration.resources import ExtractionResource

EXTRACTION_GROUP = "extraction"


def raw_asset_key(system: str, table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", system, table])


def system_asset_keys(system: str) -> list[dg.AssetKey]:
    return [raw_asset_key(system, t.table) for t in tables_of(system)]


def _column_schema(schema: TableSchema) -> dg.TableSchema:
    columns = [
        dg.TableColumn(
            c.name,
            "varchar",
            description=c.kind + (f": {', '.join(c.values)}" if c.values else ""),
            constraints=dg.TableColumnConstraints(nullable=not c.required),
        )
        for c in schema.columns
    ]
    columns += [
        dg.TableColumn("_source_file", "varchar", description="landing file, relative path"),
        dg.TableColumn("_source_line", "bigint", description="1-based line (CSV header = 1)"),
        dg.TableColumn("_loaded_at", "timestamptz", description="when extraction wrote it"),
    ]
    assert [c.name for c in columns][-3:] == list(LINEAGE_COLUMNS)
    return dg.TableSchema(columns=columns)


def _spec(schema: TableSchema) -> dg.AssetSpec:
    landing = (
        f"landing/{schema.system}/<day>/{schema.file_name}"
        if schema.daily
        else f"landing/{schema.system}/{schema.file_name}"
    )
    return dg.AssetSpec(
        key=raw_asset_key(schema.system, schema.table),
        group_name=EXTRACTION_GROUP,
        description=f"{schema.description} Loaded from {landing} ({schema.format}); rows failing "
        f"validation go to raw/_quarantine/{schema.system}/{schema.table}/.",
        kinds={"duckdb", "parquet"},
        tags={"system": schema.system},
        metadata={"dagster/column_schema": _column_schema(schema), "landing_file": landing},
    )


def _metadata(result: LoadResult) -> dict[str, object]:
    span = f"{result.partitions[0]}..{result.partitions[-1]}" if result.partitions else "snapshot"
    return {
        "partitions": span,
        "partition_count": len(result.partitions),
        "files": len(result.files),
        "rows_read": result.rows_read,
        "rows_loaded": result.rows_loaded,
        "rows_quarantined": result.rows_quarantined,
        "rows_erased": result.rows_erased,  # tombstoned people (orchestration/erasure.py)
        "quarantine_share": float(result.quarantine_share),
        "quarantine_reasons": dg.MetadataValue.json(result.quarantine_reasons),
        "dagster/row_count": result.rows_loaded,
    }


def build_extraction_asset(system: str) -> dg.AssetsDefinition:
    tables = tables_of(system)
    daily = tables[0].daily
    specs = [_spec(t) for t in tables]
    checks = [
        check
        for t in tables
        for check in extraction_checks.check_specs(raw_asset_key(system, t.table), t)
    ]

    @dg.multi_asset(
        name=f"extract_{system}",
        specs=specs,
        check_specs=checks,
        partitions_def=daily_partitions if daily else None,
        backfill_policy=dg.BackfillPolicy.single_run() if daily else None,
        op_tags={"system": system},
    )
    def _extract(context: dg.AssetExecutionContext, extraction: ExtractionResource):
        days = list(context.partition_keys) if daily else None
        loaded_at = datetime.now(UTC)
        results = extraction.load(system, days, loaded_at=loaded_at)
        for schema in tables:
            result = results[schema.table]
            key = raw_asset_key(system, schema.table)
            context.log.info(result.summary())
            yield dg.MaterializeResult(asset_key=key, metadata=_metadata(result))
            yield extraction_checks.row_conservation(
                key, schema, result, extraction.landing_path(), extraction.raw_path()
            )
            yield extraction_checks.quarantine_share(key, result, extraction.quarantine_warn_share)

    return _extract


extraction_assets: list[dg.AssetsDefinition] = [build_extraction_asset(s) for s in SYSTEMS]
EXTRACTION_ASSET_KEYS: list[dg.AssetKey] = [k for s in SYSTEMS for k in system_asset_keys(s)]
