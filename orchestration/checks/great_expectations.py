"""Great Expectations suites on the raw zone, run as Dagster asset checks on the extraction assets.

What dbt cannot express well lives here: the exact column set and types of each raw file, value
sets and documented formats checked on the text as landed, regex shapes of contact columns, and
drift of volumes, null shares, shapes and mean amounts against the previous loads (a small
metrics history per raw table under `<reports>/gx/state/`).

Every expectation carries a GX severity. `critical` ones form the blocking `gx_contract` check
(Dagster severity ERROR: downstream assets of the run do not materialise, and the publishing
gate refuses to publish); `warning` ones form the non-blocking `gx_drift` check. The column lists,
required columns, enums and formats come from the extraction schema registry, never re-typed.
Data Docs HTML is rebuilt under `<reports>/gx/docs/` on every run; validation results older than
CLIENTBASE_GX_KEEP_DAYS days are deleted with their pages.
"""

import contextlib
import fcntl
import json
import math
import os
import re
import statistics
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import great_expectations as gx
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from great_expectations.exceptions import DataContextError
from great_expectations.expectations.metadata_types import FailureSeverity

from orchestration.checks.gate import GX_RESULTS_SUBDIR
from orchestration.config import Settings, get_settings
from orchestration.extraction import schemas
from orchestration.extraction.schemas import TableSchema

CONTRACT_CHECK = "gx_contract"
DRIFT_CHECK = "gx_drift"
DOCS_SITE = "clientbase_raw"
DATA_SOURCE = "raw_zone"
# Data Docs history. Each index build (one per system a night) lists every stored validation
# result, parsing each one's run time: unbounded, the night's GX steps grow with every night
# kept (benchmarks/gx_docs_history.py: a year of results makes one system's step ~4.5x slower).
# So results older than CLIENTBASE_GX_KEEP_DAYS days are deleted, their pages with them (the
# index build drops pages whose result is gone; the drift metrics have their own history under
# state/), and the index page lists the newest DOCS_INDEX_RESULTS results, every table's last
# few nights, instead of thousands of rows.
DOCS_INDEX_RESULTS = 100
KEEP_DAYS_ENV = "CLIENTBASE_GX_KEEP_DAYS"
DEFAULT_KEEP_DAYS = 30


@dataclass(frozen=True)
class Tolerances:
    """How far a load may stray from its history before a warning (or an error) is raised."""

    history_partitions: int = 7  # baseline = median of up to this many earlier loads
    row_count_warn_factor: float = 3.0  # warn outside [baseline / f, baseline * f]
    row_count_error_share: float = 0.05  # error below this share of the baseline...
    row_count_error_min_baseline: int = 100  # ...when the baseline is big enough to judge
    null_share_warn_increase: float = 0.15  # warn when a column's null share rises this much
    mean_warn_factor: float = 2.0  # warn when a mean amount leaves [baseline / f, baseline * f]
    shape_warn_drop: float = 0.10  # warn when a shape's share falls this much below baseline
    shape_error_floor: float = 0.5  # error when fewer than half the values have the shape
    max_backfill_rows: int = 200_000  # contract-check a sample of bigger backfill ranges
    # Null shares, means and shapes of a handful of rows swing by chance: judge drift only when
    # both the load and its baseline have at least this many rows.
    drift_min_rows: int = 30


TOLERANCES = Tolerances()

# Regex shapes of contact columns. Odd emails and phones are never quarantined (staging and the
# contact-point checks judge them one by one); here a *share* collapsing means a broken export,
# e.g. columns shifted by one.
EMAIL_SHAPE = r"^\s*[^@\s]+@[^@\s]+\.[^@\s]+\s*$"
PHONE_SHAPE = r"^\s*\+?[0-9][0-9 ()\-.]{5,20}\s*$"
TIME_ZONE_SHAPE = r"^(?:UTC|Etc/[A-Za-z0-9+\-]+|[A-Z][A-Za-z]+(?:/[A-Za-z0-9_+\-]+){1,2})$"
COUNTRY_SHAPE = r"^[A-Z]{2}$"
SHAPES: dict[str, str] = {
    "email": EMAIL_SHAPE,
    "phone": PHONE_SHAPE,
    "customer_phone": PHONE_SHAPE,
    "time_zone": TIME_ZONE_SHAPE,
    "ip_time_zone": TIME_ZONE_SHAPE,
    "country_code": COUNTRY_SHAPE,
    "ip_country": COUNTRY_SHAPE,
}

# Keys unique within one load. Contacts, orders and cards may legitimately appear twice in a day
# (updated twice), so their uniqueness is only a warning.
# Sources do export the same row twice (a retried export, an event sent twice) and staging
# deduplicates: a repeated key in the raw zone is worth a warning, never a reason to stop.
UNIQUE_KEYS: dict[tuple[str, str], tuple[tuple[str, ...], FailureSeverity]] = {
    ("crm", "contacts"): (("contact_id",), FailureSeverity.WARNING),
    ("shop", "orders"): (("order_id",), FailureSeverity.WARNING),
    ("shop", "order_lines"): (("order_line_id",), FailureSeverity.WARNING),
    ("pos", "receipts"): (("receipt_id",), FailureSeverity.WARNING),
    ("pos", "receipt_lines"): (("receipt_id", "line_number"), FailureSeverity.WARNING),
    ("loyalty", "cards"): (("card_number",), FailureSeverity.WARNING),
    ("web", "events"): (("event_id",), FailureSeverity.WARNING),
    ("messaging", "events"): (("event_id",), FailureSeverity.WARNING),
    ("surveys", "responses"): (("response_id",), FailureSeverity.WARNING),
    ("reference", "stores"): (("store_id",), FailureSeverity.WARNING),
    ("reference", "products"): (("product_id",), FailureSeverity.WARNING),
}

NUMBER_SHAPE = r"^\s*[0-9]+(?:\.[0-9]+)?\s*$"
NUMBER_SUFFIX = "__number"  # numeric copies of amount columns, added for mean/min expectations
_KIND_PATTERNS = {
    "timestamp": schemas.TIMESTAMP_PATTERN,
    "date": schemas.DATE_PATTERN,
    "local_timestamp": schemas.LOCAL_TIMESTAMP_PATTERN,
}


# ----------------------------------------------------------------------------------------------
# Reading the raw zone
# ----------------------------------------------------------------------------------------------


def raw_file(raw_dir: Path, table: TableSchema, partition: str | None) -> Path:
    folder = raw_dir / table.system / table.table
    if table.daily:
        folder = folder / f"partition_date={partition}"
    return folder / "part-0.parquet"


def latest_partition(raw_dir: Path, system: str) -> str | None:
    """The newest daily partition on disk (for a check run outside a partitioned run)."""
    days = {
        path.name.removeprefix("partition_date=")
        for table in schemas.tables_of(system)
        for path in (raw_dir / system / table.table).glob("partition_date=*")
    }
    return max(days) if days else None


def read_raw(path: Path) -> pd.DataFrame:
    return blank_as_missing(pd.read_parquet(path))


def blank_as_missing(frame: pd.DataFrame) -> pd.DataFrame:
    # CSV has no null: an empty cell is empty text. Treat blank as missing so null-share and
    # required-column expectations mean the same for CSV and JSONL systems.
    for column in frame.columns:
        if pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].mask(frame[column].str.strip() == "")
    return frame


def add_numeric_copies(frame: pd.DataFrame, table: TableSchema) -> pd.DataFrame:
    frame = frame.copy()
    for column in table.columns_of_kind("amount", "quantity"):
        if column.name in frame.columns:
            frame[column.name + NUMBER_SUFFIX] = pd.to_numeric(frame[column.name], errors="coerce")
    return frame


# ----------------------------------------------------------------------------------------------
# Metrics history (drift baseline)
# ----------------------------------------------------------------------------------------------


def measure(frame: pd.DataFrame, table: TableSchema) -> dict:
    """The metrics the next load is compared with."""
    rows = len(frame)
    metrics: dict = {"row_count": rows, "null_share": {}, "mean": {}, "shape_share": {}}
    for column in table.column_names:
        if column not in frame.columns:
            continue
        values = frame[column]
        metrics["null_share"][column] = float(values.isna().mean()) if rows else 0.0
        if column in SHAPES:
            present = values.dropna()
            if len(present):
                share = present.str.match(SHAPES[column]).mean()
                metrics["shape_share"][column] = float(share)
    for column in table.columns_of_kind("amount", "quantity"):
        numbers = frame.get(column.name + NUMBER_SUFFIX)
        if numbers is not None and numbers.notna().any():
            metrics["mean"][column.name] = float(numbers.mean())
    return metrics


def _empty_days(days: Sequence[str]) -> dict[str, dict]:
    """Days a source exported nothing are history too: a bursty source's quiet days tell the
    volume check what its normal low is. Only the count is known; no shares or means."""
    return {
        str(day): {"row_count": 0, "null_share": {}, "mean": {}, "shape_share": {}} for day in days
    }


def state_path(reports_dir: Path, table: TableSchema) -> Path:
    return reports_dir / "gx" / "state" / f"{table.key}.json"


def load_history(reports_dir: Path, table: TableSchema) -> dict[str, dict]:
    path = state_path(reports_dir, table)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def save_metrics(reports_dir: Path, table: TableSchema, by_load: dict[str, dict]) -> None:
    """Add the metrics of one or more loads ({load key: metrics}) to the table's history."""
    history = load_history(reports_dir, table)
    history.update(by_load)
    path = state_path(reports_dir, table)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(history, indent=1, sort_keys=True), encoding="utf-8")
    temporary.replace(path)


@dataclass
class Baseline:
    loads: list[str] = field(default_factory=list)
    row_count: float | None = None
    min_row_count: float | None = None
    null_share: dict[str, float] = field(default_factory=dict)
    mean: dict[str, float] = field(default_factory=dict)
    shape_share: dict[str, float] = field(default_factory=dict)


def baseline_from(history: dict[str, dict], load_key: str, tolerances: Tolerances) -> Baseline:
    """Median metrics of the loads before this one: re-checking a day never compares it to itself.

    Snapshot tables (reference) are keyed by load time, daily ones by partition date; either
    way the keys sort in load order.
    """
    earlier = sorted(key for key in history if key < load_key)[-tolerances.history_partitions :]
    if not earlier:
        return Baseline()
    metrics = [history[key] for key in earlier]

    def median_of(section: str) -> dict[str, float]:
        columns = {column for m in metrics for column in m.get(section, {})}
        return {
            column: statistics.median(m[section][column] for m in metrics if column in m[section])
            for column in columns
        }

    return Baseline(
        loads=earlier,
        row_count=statistics.median(m["row_count"] for m in metrics),
        min_row_count=min(m["row_count"] for m in metrics),
        null_share=median_of("null_share"),
        mean=median_of("mean"),
        shape_share=median_of("shape_share"),
    )


# ----------------------------------------------------------------------------------------------
# Suites
# ----------------------------------------------------------------------------------------------

CRITICAL = FailureSeverity.CRITICAL
WARNING = FailureSeverity.WARNING


def _enum_regex(values: tuple[str, ...]) -> str:
    # Extraction compares enums lower-cased and trimmed, so the raw text may differ in case.
    return r"(?i)^\s*(?:" + "|".join(re.escape(v) for v in values) + r")\s*$"


def contract_expectations(
    table: TableSchema, extra_columns: bool = False
) -> Iterator[gx.expectations.Expectation]:
    """The raw file's contract: what extraction promises downstream. All critical.

    `extra_columns`: the batch also holds the partition column (a backfill range).
    """
    e = gx.expectations
    expected_columns = [*table.column_names, *schemas.LINEAGE_COLUMNS]
    added = [c.name + NUMBER_SUFFIX for c in table.columns_of_kind("amount", "quantity")]
    if extra_columns:
        added.append(schemas.PARTITION_COLUMN)
    yield e.ExpectTableColumnsToMatchSet(
        column_set=expected_columns + added,
        exact_match=True,
        severity=CRITICAL,
        meta={"rule": "schema", "note": f"{NUMBER_SUFFIX} columns are added by the check"},
    )
    for name in [*table.column_names, "_source_file"]:
        # typed-as-text raw zone (ARCHITECTURE.md)
        yield e.ExpectColumnValuesToBeOfType(column=name, type_="str", severity=CRITICAL)
    # lineage: _source_line BIGINT, _loaded_at TIMESTAMP WITH TIME ZONE (checked not null below)
    yield e.ExpectColumnValuesToBeInTypeList(
        column="_source_line", type_list=["int64", "Int64", "int32", "Int32"], severity=CRITICAL
    )
    for name in [*table.required_columns, "_source_file", "_source_line", "_loaded_at"]:
        yield e.ExpectColumnValuesToNotBeNull(column=name, severity=CRITICAL)
    for column in table.columns:
        if column.values:
            yield e.ExpectColumnValuesToMatchRegex(
                column=column.name, regex=_enum_regex(column.values), severity=CRITICAL,
                meta={"rule": "value set", "values": list(column.values)},
            )  # fmt: skip
        elif column.kind in _KIND_PATTERNS:
            yield e.ExpectColumnValuesToMatchRegex(
                column=column.name, regex=f"^{_KIND_PATTERNS[column.kind]}$", severity=CRITICAL,
                meta={"rule": f"{column.kind} format"},
            )  # fmt: skip
        elif column.kind in ("amount", "quantity"):
            yield e.ExpectColumnValuesToMatchRegex(
                column=column.name, regex=NUMBER_SHAPE, severity=CRITICAL,
                meta={"rule": "non-negative number"},
            )  # fmt: skip
            if column.kind == "quantity":
                # per value, not the column minimum: a day with no rows has no minimum and
                # must pass (a source may export nothing on a quiet day)
                yield e.ExpectColumnValuesToBeBetween(
                    column=column.name + NUMBER_SUFFIX, min_value=0, strict_min=True,
                    severity=CRITICAL, meta={"rule": "quantity > 0"},
                )  # fmt: skip
    yield e.ExpectColumnValuesToBeBetween(column="_source_line", min_value=1, severity=CRITICAL)
    yield e.ExpectCompoundColumnsToBeUnique(
        column_list=["_source_file", "_source_line"], severity=CRITICAL,
        meta={"rule": "one row per source line"},
    )  # fmt: skip
    for name in table.column_names:
        if name in SHAPES:
            yield e.ExpectColumnValuesToMatchRegex(
                column=name, regex=SHAPES[name], mostly=TOLERANCES.shape_error_floor,
                severity=CRITICAL, meta={"rule": "shape floor: most values must look right"},
            )  # fmt: skip


def unique_key_expectations(table: TableSchema) -> Iterator[gx.expectations.Expectation]:
    if (table.system, table.table) not in UNIQUE_KEYS:
        return
    key, severity = UNIQUE_KEYS[(table.system, table.table)]
    meta = {"rule": "unique key within a load"}
    if len(key) == 1:
        yield gx.expectations.ExpectColumnValuesToBeUnique(
            column=key[0], severity=severity, meta=meta
        )
    else:
        yield gx.expectations.ExpectCompoundColumnsToBeUnique(
            column_list=list(key), severity=severity, meta=meta
        )


def drift_expectations(
    table: TableSchema, baseline: Baseline, tolerances: Tolerances, load_rows: int
) -> Iterator[gx.expectations.Expectation]:
    """Comparisons with the previous loads' metrics. Warnings, except a collapsed volume."""
    e = gx.expectations
    meta = {"rule": "drift", "baseline_loads": baseline.loads}
    if baseline.row_count is None:
        return
    rows = baseline.row_count
    if rows >= tolerances.drift_min_rows:
        yield e.ExpectTableRowCountToBeBetween(
            min_value=math.floor(rows / tolerances.row_count_warn_factor),
            max_value=math.ceil(rows * tolerances.row_count_warn_factor),
            severity=WARNING, meta=meta,
        )  # fmt: skip
    collapse_floor = math.ceil(rows * tolerances.row_count_error_share)
    # A bursty source (campaign sends) has quiet days in its own history: falling to such a
    # level is its normal rhythm, not a collapse.
    usual_minimum = baseline.min_row_count if baseline.min_row_count is not None else rows
    if rows >= tolerances.row_count_error_min_baseline and usual_minimum >= collapse_floor:
        yield e.ExpectTableRowCountToBeBetween(
            min_value=collapse_floor,
            severity=CRITICAL, meta={**meta, "rule": "volume collapse"},
        )  # fmt: skip
    if min(rows, load_rows) < tolerances.drift_min_rows:
        return
    for column, share in sorted(baseline.null_share.items()):
        allowed = share + tolerances.null_share_warn_increase
        if allowed < 1:
            yield e.ExpectColumnValuesToNotBeNull(
                column=column, mostly=round(1 - allowed, 4), severity=WARNING, meta=meta
            )
    for column, mean in sorted(baseline.mean.items()):
        yield e.ExpectColumnMeanToBeBetween(
            column=column + NUMBER_SUFFIX,
            min_value=mean / tolerances.mean_warn_factor,
            max_value=mean * tolerances.mean_warn_factor,
            severity=WARNING, meta=meta,
        )  # fmt: skip
    for column, share in sorted(baseline.shape_share.items()):
        mostly = round(share - tolerances.shape_warn_drop, 4)
        if mostly > 0:
            yield e.ExpectColumnValuesToMatchRegex(
                column=column, regex=SHAPES[column], mostly=mostly, severity=WARNING, meta=meta
            )


# ----------------------------------------------------------------------------------------------
# Running
# ----------------------------------------------------------------------------------------------


@dataclass
class FailedExpectation:
    table: str
    expectation: str
    column: str | None
    severity: str
    observed: str

    def __str__(self) -> str:
        where = f"{self.table}.{self.column}" if self.column else self.table
        return f"{where} {self.expectation} (observed {self.observed})"


@dataclass
class SystemOutcome:
    """The result of validating one system's raw tables for one load (or a backfill range)."""

    system: str
    partition: str | None  # the load drift is judged on: the last day of a range
    earlier_partitions: int = 0  # days before it in a backfill range, contract-checked together
    tables: dict[str, dict] = field(default_factory=dict)  # table -> counts, baseline
    failures: list[FailedExpectation] = field(default_factory=list)
    docs_index: str = ""
    pruned_results: int = 0  # stored validation results deleted as older than the kept days

    def failed(
        self, severity: FailureSeverity, table: str | None = None
    ) -> list[FailedExpectation]:
        return [
            f
            for f in self.failures
            if f.severity == severity.value and (table is None or f.table == table)
        ]

    @property
    def contract_passed(self) -> bool:
        return not self.failed(CRITICAL)

    @property
    def drift_passed(self) -> bool:
        return not self.failed(WARNING)


@contextmanager
def _locked(reports_dir: Path) -> Iterator[None]:
    # The file context keeps its config and docs index in shared files; systems checked in
    # parallel processes take turns.
    lock_path = reports_dir / "gx" / ".lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def docs_dir(reports_dir: Path) -> Path:
    return reports_dir / "gx" / "docs"


def _context(reports_dir: Path):
    context = gx.get_context(mode="file", project_root_dir=reports_dir / "gx")
    site = {
        "class_name": "SiteBuilder",
        "site_index_builder": {
            "class_name": "DefaultSiteIndexBuilder",
            "validation_results_limit": DOCS_INDEX_RESULTS,
        },
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(docs_dir(reports_dir)),
        },
    }
    sites = context.list_data_docs_sites()
    if "local_site" in sites:
        context.delete_data_docs_site("local_site")  # one site only, at the documented path
    if DOCS_SITE in sites and sites[DOCS_SITE] != site:
        context.delete_data_docs_site(DOCS_SITE)  # written by an older clientbase: update it
    if sites.get(DOCS_SITE) != site:
        context.add_data_docs_site(site_name=DOCS_SITE, site_config=site)
    return context


def keep_days() -> int:
    value = os.environ.get(KEEP_DAYS_ENV, "").strip()
    days = int(value) if value else DEFAULT_KEEP_DAYS
    if days < 1:
        raise ValueError(f"{KEEP_DAYS_ENV} must be at least 1 (days), got {value!r}")
    return days


def _get_or_add(getter, adder, name):
    try:
        return getter(name)
    except (KeyError, LookupError, ValueError):
        return adder(name)


def _replace(factory, item):
    """Delete-then-add a suite, validation definition or checkpoint by name.

    Much faster than add_or_update, which diffs every expectation against the stored ones; and
    deleting by name reads the one stored item, where listing the names first read them all.
    """
    with contextlib.suppress(DataContextError):  # nothing stored under that name yet
        factory.delete(item.name)
    return factory.add(item)


def _observed(result) -> str:
    details = result.result or {}
    if "observed_value" in details:
        return str(details["observed_value"])[:200]
    if "unexpected_percent" in details:
        sample = details.get("partial_unexpected_list") or []
        return f"{details['unexpected_percent']:.2f}% unexpected, e.g. {sample[:3]}"[:200]
    if result.exception_info and result.exception_info.get("raised_exception"):
        return "error: " + str(result.exception_info.get("exception_message"))[:180]
    return "-"


class _Runner:
    """One GX file context, one suite + validation definition + checkpoint per batch."""

    def __init__(self, reports_dir: Path) -> None:
        self.context = _context(reports_dir)
        self.source = _get_or_add(
            self.context.data_sources.get,
            lambda name: self.context.data_sources.add_pandas(name=name),
            DATA_SOURCE,
        )
        self.result_ids: list = []

    def run(self, name: str, frame: pd.DataFrame, expectations: list, run_name: str) -> list:
        context = self.context
        suite = _replace(context.suites, gx.ExpectationSuite(name=name, expectations=expectations))
        asset = _get_or_add(self.source.get_asset, self.source.add_dataframe_asset, name)
        batch = _get_or_add(
            asset.get_batch_definition, asset.add_batch_definition_whole_dataframe, "load"
        )
        validation = _replace(
            context.validation_definitions,
            gx.ValidationDefinition(name=name, data=batch, suite=suite),
        )
        checkpoint = _replace(
            context.checkpoints,
            gx.Checkpoint(
                name=name,
                validation_definitions=[validation],
                actions=[],  # docs are built once per system, see build_docs()
                result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5},
            ),
        )
        run = checkpoint.run(
            batch_parameters={"dataframe": frame}, run_id=gx.RunIdentifier(run_name=run_name)
        )
        self.result_ids.extend(run.run_results)
        return [r for v in run.run_results.values() for r in v.results]

    def prune(self, days: int, now: datetime | None = None) -> int:
        """Delete the stored validation results of runs older than `days` days; their Data Docs
        pages go at the next index build. Returns how many were deleted."""
        cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
        store = self.context.validation_results_store
        removed = 0
        for key in store.list_keys():
            run_time = key.run_id.run_time
            if run_time.tzinfo is None:
                run_time = run_time.replace(tzinfo=UTC)
            if run_time < cutoff:
                store.remove_key(key)
                removed += 1
        if removed:
            # GX deletes the result's file only: drop the run folders left empty, or every
            # listing would still walk them
            base = Path(store.store_backend.full_base_directory)
            for folder in sorted(base.rglob("*"), key=lambda path: len(path.parts), reverse=True):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
        return removed

    def build_docs(self) -> None:
        if self.result_ids:
            # This run's pages plus the index only: rebuilding every stored result gets slow.
            self.context.build_data_docs(
                site_names=[DOCS_SITE], resource_identifiers=self.result_ids
            )


def _failures(table: TableSchema, results: list, label: str = "") -> list[FailedExpectation]:
    failures = []
    for result in results:
        if result.success:
            continue
        config = result.expectation_config
        column = config.kwargs.get("column") or ",".join(config.kwargs.get("column_list", []))
        failures.append(
            FailedExpectation(
                table=table.table,
                expectation=config.type + label,
                column=column or None,
                severity=config.severity.value,
                observed=_observed(result),
            )
        )
    return failures


def _read_partitions(raw_dir: Path, table: TableSchema, partitions: list[str]) -> pd.DataFrame:
    tables = []
    for day in partitions:
        path = raw_file(raw_dir, table, day)
        if path.exists():
            data = pq.read_table(path)
            tables.append(
                data.append_column(schemas.PARTITION_COLUMN, pa.array([day] * data.num_rows))
            )
    if not tables:
        return pd.DataFrame()
    # one conversion for the whole range (a year is 365 small files)
    combined = pa.concat_tables(tables, promote_options="default")
    return blank_as_missing(combined.to_pandas())


def validate_system(
    system: str,
    partitions: str | Sequence[str] | None,
    settings: Settings | None = None,
    tolerances: Tolerances = TOLERANCES,
    record_metrics: bool = True,
) -> SystemOutcome:
    """Validate every raw table of `system` for one load.

    `partitions`: a day, the days of a backfill range, or None for snapshot systems. The last
    day gets the full suite (contract + drift against the days before it); the earlier days of a
    range get the contract suite as one batch (sampled above `max_backfill_rows`), and their
    metrics join the history, so a year's backfill costs two validations per table, not 365.
    """
    settings = settings or get_settings()
    reports_dir = settings.reports_dir
    days = [partitions] if isinstance(partitions, str) else list(partitions or [])
    last = days[-1] if days else None
    earlier = days[:-1]
    outcome = SystemOutcome(system=system, partition=last, earlier_partitions=len(earlier))
    load_key = last or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    with _locked(reports_dir):
        runner = _Runner(reports_dir)
        for table in schemas.tables_of(system):
            if table.daily and last is None:
                outcome.failures.append(
                    FailedExpectation(table.table, "partition given", None, CRITICAL.value, "none")
                )
                continue
            summary: dict = {}
            if earlier:
                backfill = _read_partitions(settings.raw_dir, table, earlier)
                summary["backfill_rows"] = len(backfill)
                if record_metrics and not len(backfill):
                    save_metrics(reports_dir, table, _empty_days(earlier))
                if len(backfill):
                    backfill = add_numeric_copies(backfill, table)
                    if record_metrics:
                        by_day = backfill.groupby(schemas.PARTITION_COLUMN)
                        metrics = {str(day): measure(rows, table) for day, rows in by_day}
                        save_metrics(reports_dir, table, {**_empty_days(earlier), **metrics})
                    if len(backfill) > tolerances.max_backfill_rows:
                        backfill = backfill.sample(tolerances.max_backfill_rows, random_state=0)
                        summary["backfill_sampled_rows"] = len(backfill)
                    expectations = [*contract_expectations(table, extra_columns=True)]
                    results = runner.run(
                        f"raw.{table.key}.backfill",
                        backfill,
                        expectations,
                        run_name=f"{table.key}@{earlier[0]}..{earlier[-1]}",
                    )
                    outcome.failures += _failures(table, results, f" [{earlier[0]}..{earlier[-1]}]")
            path = raw_file(settings.raw_dir, table, last)
            if not path.exists():
                outcome.failures.append(
                    FailedExpectation(
                        table.table, "raw file exists", None, CRITICAL.value, f"no file at {path}"
                    )
                )
                outcome.tables[table.table] = summary
                continue
            frame = add_numeric_copies(read_raw(path), table)
            baseline = baseline_from(load_history(reports_dir, table), load_key, tolerances)
            expectations = [
                *contract_expectations(table),
                *unique_key_expectations(table),
                *drift_expectations(table, baseline, tolerances, len(frame)),
            ]
            results = runner.run(
                f"raw.{table.key}", frame, expectations, run_name=f"{table.key}@{load_key}"
            )
            outcome.failures += _failures(table, results)
            outcome.tables[table.table] = {
                **summary,
                "rows": len(frame),
                "expectations": len(results),
                "failed": sum(not r.success for r in results),
                "baseline_loads": len(baseline.loads),
                "baseline_rows": baseline.row_count,
            }
            if record_metrics:
                save_metrics(reports_dir, table, {load_key: measure(frame, table)})
        outcome.pruned_results = runner.prune(keep_days())
        runner.build_docs()
    outcome.docs_index = str(docs_dir(reports_dir) / "index.html")
    _write_gate_results(reports_dir, outcome)
    return outcome


def _write_gate_results(reports_dir: Path, outcome: SystemOutcome) -> None:
    """The latest verdict per check, read by orchestration.checks.gate before publishing."""
    folder = reports_dir / "gx" / GX_RESULTS_SUBDIR
    folder.mkdir(parents=True, exist_ok=True)
    for check_name, severity, passed, level in (
        (CONTRACT_CHECK, "ERROR", outcome.contract_passed, CRITICAL),
        (DRIFT_CHECK, "WARN", outcome.drift_passed, WARNING),
    ):
        payload = {
            "check_name": f"{outcome.system}.{check_name}",
            "system": outcome.system,
            "partition": outcome.partition,
            "severity": severity,
            "passed": passed,
            "failed_expectations": [str(f) for f in outcome.failed(level)],
            "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "docs_index": outcome.docs_index,
        }
        path = folder / f"{outcome.system}__{check_name}.json"
        path.write_text(json.dumps(payload, indent=1), encoding="utf-8")


# ----------------------------------------------------------------------------------------------
# Dagster
# ----------------------------------------------------------------------------------------------


def _metadata(outcome: SystemOutcome, table: str, level: FailureSeverity) -> dict:
    failed = outcome.failed(level, table)
    return {
        "partition": outcome.partition or "snapshot",
        "earlier_partitions_in_run": outcome.earlier_partitions,
        "validation": dg.MetadataValue.json(outcome.tables.get(table, {})),
        "failed_expectations": dg.MetadataValue.md(
            "\n".join(f"- {f}" for f in failed) if failed else "none"
        ),
        "failed_count": len(failed),
        "data_docs": dg.MetadataValue.path(outcome.docs_index),
    }


def _run_partitions(context: dg.AssetCheckExecutionContext, raw_dir: Path, system: str):
    op_context = context.op_execution_context
    if not any(t.daily for t in schemas.tables_of(system)):
        return None
    if op_context.has_partition_key_range:
        # single-run backfills (extraction's policy) hand the check the whole range
        return list(op_context.partition_keys)
    if op_context.has_partition_key:
        return op_context.partition_key
    return latest_partition(raw_dir, system)  # run on its own from the UI


def build_gx_asset_check(
    system: str, asset_key: Callable[[str, str], dg.AssetKey]
) -> dg.AssetChecksDefinition:
    """The GX checks of one system's raw tables: per table a blocking contract and a drift check."""
    keys = {t.table: asset_key(system, t.table) for t in schemas.tables_of(system)}
    specs = []
    for table, key in keys.items():
        specs += [
            dg.AssetCheckSpec(
                CONTRACT_CHECK,
                asset=key,
                blocking=True,
                description=f"Great Expectations on raw {system}/{table}: schema, types, required "
                "columns, value sets, formats, unique keys, shape floors, volume collapse. "
                "Blocking: an ERROR stops downstream assets and publication.",
            ),
            dg.AssetCheckSpec(
                DRIFT_CHECK,
                asset=key,
                description=f"Great Expectations on raw {system}/{table}: row count, null shares, "
                "mean amounts and contact-column shapes against the median of previous loads.",
            ),
        ]

    @dg.multi_asset_check(name=f"gx_{system}", specs=specs)
    def _check(context: dg.AssetCheckExecutionContext):
        settings = get_settings()
        partitions = _run_partitions(context, settings.raw_dir, system)
        outcome = validate_system(system, partitions, settings)
        context.log.info(
            f"GX {system} {outcome.partition or 'snapshot'} (+{outcome.earlier_partitions} "
            f"earlier days): {len(outcome.failures)} failed expectations; "
            f"Data Docs at {outcome.docs_index}"
        )
        for table, key in keys.items():
            contract_failed = outcome.failed(CRITICAL, table)
            yield dg.AssetCheckResult(
                asset_key=key,
                check_name=CONTRACT_CHECK,
                passed=not contract_failed,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata=_metadata(outcome, table, CRITICAL),
                description="Blocks publication: " + str(contract_failed[0])[:200]
                if contract_failed
                else None,
            )
            yield dg.AssetCheckResult(
                asset_key=key,
                check_name=DRIFT_CHECK,
                passed=not outcome.failed(WARNING, table),
                severity=dg.AssetCheckSeverity.WARN,
                metadata=_metadata(outcome, table, WARNING),
            )

    return _check


def build_gx_asset_checks(
    systems: Sequence[str] = schemas.SYSTEMS,
    asset_key: Callable[[str, str], dg.AssetKey] | None = None,
) -> list[dg.AssetChecksDefinition]:
    """GX checks for the extraction assets (keys from extraction's raw_asset_key by default)."""
    if asset_key is None:
        from orchestration.assets.extraction import raw_asset_key as asset_key
    return [build_gx_asset_check(system, asset_key) for system in systems]
