"""Extraction: landing files → validated, typed-as-text Parquet raw zone (plain Python + DuckDB)."""

from orchestration.extraction.loader import (
    ExtractionError,
    LoadResult,
    discover_days,
    extract_all,
    load_system,
    load_table,
    quarantine_partition_file,
    raw_partition_file,
)
from orchestration.extraction.schemas import (
    DAILY_SYSTEMS,
    SNAPSHOT_SYSTEMS,
    SYSTEMS,
    TABLES,
    Column,
    TableSchema,
    get_table,
    tables_of,
)

__all__ = [
    "DAILY_SYSTEMS",
    "SNAPSHOT_SYSTEMS",
    "SYSTEMS",
    "TABLES",
    "Column",
    "ExtractionError",
    "LoadResult",
    "TableSchema",
    "discover_days",
    "extract_all",
    "get_table",
    "load_system",
    "load_table",
    "quarantine_partition_file",
    "raw_partition_file",
    "tables_of",
]
