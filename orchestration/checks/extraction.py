"""Checks of every extraction load: rows are conserved on disk, and the quarantine stays small."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from orchestration.extraction import LoadResult, TableSchema
from orchestration.extraction.loader import (
    landing_file,
    quarantine_partition_file,
    raw_partition_file,
)

ROW_CONSERVATION = "row_conservation"
QUARANTINE_SHARE = "quarantine_share"


def check_specs(key: dg.AssetKey, schema: TableSchema) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            ROW_CONSERVATION,
            asset=key,
            description=(
                f"For every loaded day: data lines in landing/{schema.system}/<day>/"
                f"{schema.file_name} (counted from the bytes) = rows in the raw Parquet file + "
                "rows in the quarantine file (if any), and the raw file exists."
            ),
        ),
        dg.AssetCheckSpec(
            QUARANTINE_SHARE,
            asset=key,
            description="Share of quarantined rows stays below the warning threshold.",
        ),
    ]


def _landing_lines(path: Path, csv_header: bool) -> int:
    if not path.is_file():
        return 0
    data = path.read_bytes()
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    return max(lines - 1, 0) if csv_header else lines


def _parquet_rows(path: Path) -> int | None:
    return pq.read_metadata(path).num_rows if path.is_file() else None


def row_conservation(
    key: dg.AssetKey,
    schema: TableSchema,
    result: LoadResult,
    landing_dir: Path,
    raw_dir: Path,
) -> dg.AssetCheckResult:
    """Re-count what is on disk now, independently of the load's own bookkeeping."""
    days: list[str | None] = list(result.partitions) if schema.daily else [None]
    problems: list[str] = []
    total_lines = total_loaded = total_quarantined = 0
    for day in days:
        lines = _landing_lines(landing_file(landing_dir, schema, day), schema.format == "csv")
        loaded = _parquet_rows(raw_partition_file(raw_dir, schema, day))
        # no quarantine file = nothing rejected that day
        quarantined = _parquet_rows(quarantine_partition_file(raw_dir, schema, day)) or 0
        # rows of erased people (orchestration/erasure.py) are dropped on purpose and counted
        erased = result.erased_by_partition.get(day, 0) if day else result.rows_erased
        label = day or "snapshot"
        if loaded is None:
            problems.append(f"{label}: raw Parquet file missing")
            continue
        total_lines += lines
        total_loaded += loaded
        total_quarantined += quarantined
        if lines != loaded + quarantined + erased:
            problems.append(
                f"{label}: {lines} lines read, {loaded} loaded + {quarantined} quarantined"
                f" + {erased} erased"
            )
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=ROW_CONSERVATION,
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description=None if not problems else f"{len(problems)} partitions do not add up",
        metadata={
            "partitions_checked": len(days),
            "lines_read": total_lines,
            "rows_loaded": total_loaded,
            "rows_quarantined": total_quarantined,
            "problems": dg.MetadataValue.json(problems[:50]),
        },
    )


def quarantine_share(key: dg.AssetKey, result: LoadResult, threshold: float) -> dg.AssetCheckResult:
    share = result.quarantine_share
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=QUARANTINE_SHARE,
        passed=share <= threshold,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            None
            if share <= threshold
            else f"{share:.2%} of rows quarantined (threshold {threshold:.2%}): look at "
            f"raw/_quarantine/{result.system}/{result.table}/"
        ),
        metadata={
            "quarantine_share": float(share),
            "threshold": float(threshold),
            "rows_read": result.rows_read,
            "rows_quarantined": result.rows_quarantined,
            "reasons": dg.MetadataValue.json(result.quarantine_reasons),
        },
    )
