"""Load landing files into the Parquet raw zone: read, validate, quarantine, write atomically.

Plain Python + DuckDB (no Dagster), so the CLI, the Dagster assets and the tests share it.

How a load works, for one table and a list of partition days:
1. Python reads each file's bytes and splits them into lines (see `_read_file` for why Python
   and not DuckDB's CSV reader), counting newline-terminated lines independently.
2. One DuckDB query over all the lines of many days parses CSV fields / JSON keys and applies
   the rules of `schemas.py`, giving each line either no reason (loaded) or the first rule it
   breaks (quarantined).
3. Two COPY ... PARTITION_BY statements write the loaded rows and the quarantined rows into a
   temporary folder; the row counts are read back from those files and checked against the
   line counts of step 1; then every partition file is moved into place with os.replace.
Days with no landing file still get an (empty) Parquet file, so dbt's raw views always find
files with the full column list.
"""

from __future__ import annotations

import codecs
import csv
import logging
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration import locks
from orchestration.extraction.schemas import (
    DAILY_SYSTEMS,
    DATE_FORMATS,
    DATE_PATTERN,
    LOCAL_TIMESTAMP_FORMATS,
    LOCAL_TIMESTAMP_PATTERN,
    PARTITION_COLUMN,
    SYSTEMS,
    TIMESTAMP_FORMATS,
    TIMESTAMP_PATTERN,
    TableSchema,
    get_table,
    tables_of,
)

log = logging.getLogger(__name__)

QUARANTINE_DIR_NAME = "_quarantine"
ERASED_REASON = "erased"  # same marker as orchestration.erasure.ERASED_REASON
PART_FILE = "part-0.parquet"
# Temporary files never end in .parquet, so a dbt build globbing `**/*.parquet` at the same
# moment can't see a half-written partition.
TMP_EXTENSION = "parquet.tmp"
# Days are read and validated together until their files add up to this many bytes; then the
# batch is written and the next one starts. Bounds memory on a multi-year backfill while keeping
# the number of DuckDB queries small (size L web events, ~12 MB a day: ~3 weeks per query;
# peak memory is about 7x the batch).
DEFAULT_BATCH_BYTES = int(os.environ.get("CLIENTBASE_EXTRACT_BATCH_BYTES", 256 * 1024 * 1024))

# zstd at its fastest level: the raw zone is mostly unique text (ids, timestamps, URLs), which the
# higher levels barely shrink. Size L, every system, 120 days, two runs each way in one script,
# with the classify query's text kept only for quarantined lines: 30.8 -> 28.3 s, and the files
# came out 7% smaller than at the default level 3.
RAW_PARQUET_OPTIONS = "format parquet, compression zstd, compression_level 1"

# RFC 4180 fields. A line is parsed with the regex only when it contains a quote; most lines
# take the plain string_split path. The leading comma (prepended to the line) makes every match
# consume one separator, so empty fields are never skipped as empty regex matches.
_CSV_FIELD = r',("(?:[^"]|"")*"|[^,"]*)'
_CSV_LINE = r'(?:"(?:[^"]|"")*"|[^,"]*)(?:,(?:"(?:[^"]|"")*"|[^,"]*))*'


def _fault_point(name: str) -> None:
    """Test hook: die like `kill -9` at a named point of a load when CLIENTBASE_FAULT_POINT names
    it (tests/test_landing_faults.py); a no-op otherwise."""
    if os.environ.get("CLIENTBASE_FAULT_POINT") == name:
        os._exit(137)


class ExtractionError(RuntimeError):
    """A load could not be completed (row conservation broken, unreadable folder...)."""


@dataclass
class LoadResult:
    """What one load did; Dagster shows it as materialisation metadata."""

    system: str
    table: str
    partitions: list[str] = field(default_factory=list)  # days written ([] for a snapshot)
    files: list[str] = field(default_factory=list)  # landing files read, relative to landing
    rows_read: int = 0  # data lines read (CSV header excluded)
    rows_loaded: int = 0
    rows_quarantined: int = 0
    # rows dropped because they carry a tombstoned identifier (orchestration/erasure.py)
    rows_erased: int = 0
    erased_by_partition: dict[str, int] = field(default_factory=dict)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    rows_by_partition: dict[str, int] = field(default_factory=dict)  # loaded rows per day

    @property
    def key(self) -> str:
        return f"{self.system}__{self.table}"

    @property
    def quarantine_share(self) -> float:
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0

    @property
    def is_conserved(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined + self.rows_erased

    def merge(self, other: LoadResult) -> LoadResult:
        if (other.system, other.table) != (self.system, self.table):
            raise ValueError(f"cannot merge {other.key} into {self.key}")
        reasons = Counter(self.quarantine_reasons)
        reasons.update(other.quarantine_reasons)
        return LoadResult(
            system=self.system,
            table=self.table,
            partitions=self.partitions + other.partitions,
            files=self.files + other.files,
            rows_read=self.rows_read + other.rows_read,
            rows_loaded=self.rows_loaded + other.rows_loaded,
            rows_quarantined=self.rows_quarantined + other.rows_quarantined,
            rows_erased=self.rows_erased + other.rows_erased,
            erased_by_partition={**self.erased_by_partition, **other.erased_by_partition},
            quarantine_reasons=dict(reasons.most_common()),
            rows_by_partition={**self.rows_by_partition, **other.rows_by_partition},
        )

    def summary(self) -> str:
        span = (
            f"{self.partitions[0]}..{self.partitions[-1]} ({len(self.partitions)} days)"
            if self.partitions
            else "snapshot"
        )
        return (
            f"{self.key} {span}: {len(self.files)} files, {self.rows_read} rows read, "
            f"{self.rows_loaded} loaded, {self.rows_quarantined} quarantined"
            + (f", {self.rows_erased} erased" if self.rows_erased else "")
            + (f" {self.quarantine_reasons}" if self.quarantine_reasons else "")
        )


# --------------------------------------------------------------------------- paths


def raw_table_dir(raw_dir: Path, schema: TableSchema) -> Path:
    return Path(raw_dir) / schema.system / schema.table


def quarantine_table_dir(raw_dir: Path, schema: TableSchema) -> Path:
    return Path(raw_dir) / QUARANTINE_DIR_NAME / schema.system / schema.table


def raw_partition_file(raw_dir: Path, schema: TableSchema, day: str | None) -> Path:
    base = raw_table_dir(raw_dir, schema)
    return base / PART_FILE if day is None else base / f"{PARTITION_COLUMN}={day}" / PART_FILE


def quarantine_partition_file(raw_dir: Path, schema: TableSchema, day: str | None) -> Path:
    base = quarantine_table_dir(raw_dir, schema)
    return base / PART_FILE if day is None else base / f"{PARTITION_COLUMN}={day}" / PART_FILE


def landing_file(landing_dir: Path, schema: TableSchema, day: str | None) -> Path:
    base = Path(landing_dir) / schema.system
    return base / schema.file_name if day is None else base / day / schema.file_name


def discover_days(landing_dir: Path, system: str) -> list[str]:
    """The YYYY-MM-DD folders present under landing/<system>/ (other names are ignored)."""
    base = Path(landing_dir) / system
    if not base.is_dir():
        return []
    days = []
    for child in base.iterdir():
        if child.is_dir() and _is_day(child.name):
            days.append(child.name)
    return sorted(days)


def _is_day(name: str) -> bool:
    try:
        return date.fromisoformat(name).isoformat() == name
    except ValueError:
        return False


def _normalise_days(days: Iterable[str | date]) -> list[str]:
    out = set()
    for d in days:
        text = d.isoformat() if isinstance(d, date) else str(d)
        if not _is_day(text):
            raise ValueError(f"partition day {text!r} is not a YYYY-MM-DD date")
        out.add(text)
    return sorted(out)


# --------------------------------------------------------------------------- reading


@dataclass
class _FileLines:
    source_file: str
    partition: str | None
    line_no: pa.Array
    text: pa.Array  # null where the line is not valid UTF-8
    pre_reason: pa.Array
    bad_text: pa.Array  # those lines' bytes, \xNN-escaped; null elsewhere
    lines_read: int  # counted from the bytes, independently of the split above


def _read_file(path: Path, rel: str, partition: str | None, schema: TableSchema) -> _FileLines:
    """Split one landing file into numbered lines, flagging lines that are not valid UTF-8.

    Why Python and not DuckDB's readers for this step: read_csv can keep rejected lines
    (store_rejects) but gives no line number for the rows it accepts, and read_json has no
    reject store at all (ignore_errors drops broken lines silently). The raw zone needs
    `_source_line` for every row and a reason for every rejected line, so the lines are split
    here, at C speed (one Arrow split and one validating cast), and all parsing and validation then
    happens in one vectorised DuckDB query over many files.
    """
    data = path.read_bytes()
    # Independent count for the conservation check: newline-terminated lines plus an
    # unterminated last line.
    physical = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]

    # The bytes are split as binary, then cast to text: Arrow's cast validates UTF-8 without
    # building a Python str of the whole file. A file that fails the cast has its few broken
    # lines found by bisection (a handful of casts per broken line; only short failing ranges
    # are decoded line by line in Python). 0x0A is never part of a multi-byte sequence, so the
    # split is the same before and after decoding.
    binary = pc.split_pattern(_as_one_binary(data), b"\n").flatten()
    if data.endswith(b"\n") or not data:
        binary = binary.slice(0, len(binary) - 1)
    reasons = pa.nulls(len(binary), pa.string())
    bad_text = pa.nulls(len(binary), pa.large_string())
    try:
        lines = binary.cast(pa.large_string())
    except pa.ArrowInvalid:
        bad = _invalid_utf8(binary)
        mask = np.zeros(len(binary), dtype=bool)
        mask[bad] = True
        # The broken lines become nulls of the text (a new validity bitmap over the same
        # buffers: the cast checks only valid slots), instead of a copy of the whole file with
        # those lines replaced (size L web events: ~20 ms of a ~60 ms read per file). Their
        # bytes stay visible in the quarantine (\xNN escapes) for the steward, in `bad_text`.
        lines = _without(binary, mask).cast(pa.large_string())
        visible = [binary[i].as_py().decode("utf-8", "backslashreplace") for i in bad]
        mask_array = pa.array(mask)
        bad_text = pc.replace_with_mask(bad_text, mask_array, pa.array(visible, pa.large_string()))
        reasons = pc.replace_with_mask(
            reasons, mask_array, pa.array(["invalid_utf8"] * len(bad), pa.string())
        )

    first_line = 1
    if schema.format == "csv":
        physical = max(physical - 1, 0)  # the header is not a data line
        if len(lines):
            header_problem = _check_header(lines[0].as_py(), reasons[0].as_py(), schema)
            lines, reasons, bad_text = lines.slice(1), reasons.slice(1), bad_text.slice(1)
            first_line = 2
            if header_problem:
                log.warning("%s: %s; all its lines are quarantined", rel, header_problem)
                reasons = pa.array([header_problem] * len(lines), pa.string())

    line_no = pa.array(np.arange(first_line, first_line + len(lines), dtype=np.int64))
    return _FileLines(rel, partition, line_no, lines, reasons, bad_text, physical)


def _without(binary: pa.Array, mask: np.ndarray) -> pa.Array:
    """`binary` with the masked elements null, sharing its offsets and data buffers."""
    valid = ~mask
    if binary.null_count:
        valid &= binary.is_valid().to_numpy(zero_copy_only=False)
    # The bitmap is read from bit `offset` on, like the other buffers.
    valid = np.concatenate([np.ones(binary.offset, dtype=bool), valid])
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little").tobytes())
    _, offsets, data = binary.buffers()
    return pa.Array.from_buffers(
        binary.type, len(binary), [bitmap, offsets, data], offset=binary.offset
    )


def _as_one_binary(data: bytes) -> pa.Array:
    """The bytes as a one-element Arrow binary array, without copying them."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64).tobytes())
    return pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])


_LINE_BY_LINE = 64


def _invalid_utf8(lines: pa.Array) -> list[int]:
    """Positions of the elements of a binary array that are not valid UTF-8, by bisection: a
    range that casts to text is clean; a failing one is halved, and a short failing range is
    checked line by line (so a file in the wrong encoding costs a pass, not a cast per line)."""
    bad: list[int] = []
    ranges = [(0, len(lines))]
    while ranges:
        start, stop = ranges.pop()
        try:
            lines.slice(start, stop - start).cast(pa.large_string())
        except pa.ArrowInvalid:
            if stop - start <= _LINE_BY_LINE:
                for i, line in enumerate(lines.slice(start, stop - start).to_pylist(), start):
                    try:
                        line.decode("utf-8")
                    except UnicodeDecodeError:
                        bad.append(i)
            else:
                middle = (start + stop) // 2
                ranges += [(middle, stop), (start, middle)]
    return sorted(bad)


def _check_header(header: str, flag: str | None, schema: TableSchema) -> str | None:
    if flag:
        return "header_mismatch"
    found = next(csv.reader([header.rstrip("\r")]), [])
    if found != schema.column_names:
        return "header_mismatch"
    return None


# --------------------------------------------------------------------------- validation SQL


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _list(values: Sequence[str]) -> str:
    return "[" + ", ".join(_lit(v) for v in values) + "]"


_TIME_RULES = {
    "timestamp": (TIMESTAMP_PATTERN, TIMESTAMP_FORMATS, "bad_timestamp"),
    "date": (DATE_PATTERN, DATE_FORMATS, "bad_date"),
    "local_timestamp": (LOCAL_TIMESTAMP_PATTERN, LOCAL_TIMESTAMP_FORMATS, "bad_timestamp"),
}


def _blank(expr: str) -> str:
    # Not trim(x) = '': DuckDB's trim is ~100x slower than an RE2 match on long text.
    return f"({expr} is null or regexp_full_match({expr}, '\\s*'))"


def _value_rules(schema: TableSchema) -> list[tuple[str, str]]:
    """(condition that breaks a rule, reason) pairs over the extracted columns, in order:
    every required column first, then formats, numbers and enums column by column.

    Formats are strict (the documented layout, no padding); numbers may be padded (the cast
    ignores spaces); enums compare lower-cased and trimmed."""
    rules: list[tuple[str, str]] = []
    for col in schema.columns:
        if col.required:
            rules.append((_blank(_q(col.name)), f"missing_required:{col.name}"))
    for col in schema.columns:
        v = _q(col.name)
        present = f"not {_blank(v)}"
        if col.kind in ("timestamp", "date", "local_timestamp"):
            pattern, formats, reason = _TIME_RULES[col.kind]
            ok = (
                f"regexp_full_match({v}, {_lit(pattern)}) "
                f"and try_strptime({v}, {_list(formats)}) is not null"
            )
            rules.append((f"{present} and not ({ok})", f"{reason}:{col.name}"))
        elif col.kind in ("amount", "quantity"):
            number = f"try_cast({v} as double)"
            not_number = f"{present} and not coalesce(isfinite({number}), false)"
            rules.append((not_number, f"not_a_number:{col.name}"))
            if col.kind == "amount":
                rules.append((f"{present} and {number} < 0", f"negative_amount:{col.name}"))
            else:
                rules.append((f"{present} and {number} <= 0", f"non_positive_quantity:{col.name}"))
        elif col.kind in ("enum", "boolean"):
            allowed = _list([value.lower() for value in col.values])
            # trim only the few values that do not match as they are
            bad = (
                f"{present} and not list_contains({allowed}, lower({v})) "
                f"and not list_contains({allowed}, lower(trim({v})))"
            )
            rules.append((bad, f"bad_enum:{col.name}"))
    return rules


def _classify_sql(schema: TableSchema) -> str:
    """One query over the `lines` relation: the landing columns as VARCHAR, `reason`, and the
    line's `text` where it is quarantined."""
    names = schema.column_names
    if schema.format == "csv":
        fields = f"""
            case
                when pre_reason is not null or {_blank("text")} then null
                when not contains(text, '"') then string_split(text, ',')
                when regexp_full_match(text, {_lit(_CSV_LINE)}) then list_transform(
                    regexp_extract_all(',' || text, {_lit(_CSV_FIELD)}, 1),
                    lambda f: case
                        when starts_with(f, '"') then replace(f[2:-2], '""', '"') else f
                    end
                )
            end"""
        structure = f"""
            case
                when pre_reason is not null then pre_reason
                when {_blank("text")} then 'blank_line'
                when fields is null then 'malformed_csv_quoting'
                when len(fields) <> {len(names)} then 'wrong_column_count'
            end"""
        parsed = f"select *, {fields} as fields from lines_clean"
    else:
        paths = _list([f'$."{name}"' for name in names])
        parsed = f"""
            select *,
                case when json_kind = 'object' then json_extract_string(text, {paths}) end as fields
            from (
                select *,
                    -- valid JSON starting with a brace is an object: cheaper than json_type
                    case
                        when pre_reason is not null or not json_valid(text) then null
                        when regexp_matches(text, '^\\s*\\{{') then 'object'
                        else 'other'
                    end as json_kind
                from lines_clean
            )"""
        structure = f"""
            case
                when pre_reason is not null then pre_reason
                when {_blank("text")} then 'blank_line'
                when json_kind is null then 'invalid_json'
                when json_kind <> 'object' then 'not_a_json_object'
            end"""

    columns = ",\n".join(
        f"nullif(fields[{i}], '') as {_q(name)}" for i, name in enumerate(names, start=1)
    )
    rules = "\n".join(f"when {cond} then {_lit(reason)}" for cond, reason in _value_rules(schema))
    return f"""
        with lines_clean as (
            -- CRLF files: drop the carriage return the \\n split leaves behind
            select file_id, line_no, pre_reason,
                case when suffix(text, chr(13)) then left(text, length(text) - 1) else text end
                    as text
            from (
                -- a line that is not UTF-8 comes as its escaped bytes
                select file_id, line_no, pre_reason, coalesce(text, bad_text) as text
                from lines
            )
        ),
        parsed as ({parsed}),
        valued as (
            select file_id, line_no, text, {structure} as structural_reason,
                {columns}
            from parsed
        ),
        reasoned as (
            select file_id, line_no, text,
                coalesce(structural_reason, case {rules} end) as reason,
                {", ".join(_q(n) for n in names)}
            from valued
        )
        -- The line's text is kept only where the quarantine shows it: a loaded row's fields
        -- are its columns, and copying every line's text into the batch table was a third of
        -- this query's time (size L web events: 1.90 -> 1.62 s for 1.7M lines).
        select * replace (case when reason is not null then text end as text)
        from reasoned
    """


# --------------------------------------------------------------------------- writing


def _connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(
        config={
            "threads": int(os.environ.get("CLIENTBASE_DUCKDB_THREADS", "2")),
            "memory_limit": os.environ.get("CLIENTBASE_DUCKDB_MEMORY_LIMIT", "4GB"),
            "preserve_insertion_order": False,
        }
    )
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    return con


def _loaded_select(schema: TableSchema, where: str) -> str:
    # Unordered: a raw file's rows are a set, and every reader orders by the lineage columns
    # itself (staging ranks copies by partition_date, _source_file, _source_line). Sorting each
    # batch only for the file's layout cost 13% of a load (size L, every system, 120 days, two
    # runs each way: 30.7 -> 26.6 s, the same rows). The quarantine below stays in line order:
    # stewards read it.
    cols = ", ".join(f"cast(c.{_q(n)} as varchar) as {_q(n)}" for n in schema.column_names)
    part = f", f.partition_date as {PARTITION_COLUMN}" if schema.daily else ""
    return f"""
        select {cols},
            cast(f.source_file as varchar) as _source_file,
            cast(c.line_no as bigint) as _source_line,
            cast($loaded_at as timestamptz) as _loaded_at{part}
        from classified c join files f using (file_id)
        where {where}
    """


def _quarantine_select(schema: TableSchema, where: str) -> str:
    part = f", f.partition_date as {PARTITION_COLUMN}" if schema.daily else ""
    return f"""
        select cast({_lit(schema.system)} as varchar) as system,
            cast({_lit(schema.table)} as varchar) as "table",
            cast(f.source_file as varchar) as source_file,
            cast(c.line_no as bigint) as source_line,
            cast(c.text as varchar) as raw_text,
            cast(c.reason as varchar) as reason,
            cast($loaded_at as timestamptz) as loaded_at{part}
        from classified c join files f using (file_id)
        where {where}
        order by f.partition_date, f.source_file, c.line_no
    """


def _load_batch(
    con: duckdb.DuckDBPyConnection,
    schema: TableSchema,
    landing_dir: Path,
    raw_dir: Path,
    days: list[str] | None,
    loaded_at: datetime,
) -> LoadResult:
    """Read, validate and write one batch of days (or the snapshot) with one query."""
    result = LoadResult(schema.system, schema.table, partitions=list(days or []))
    read: list[_FileLines] = []
    for day in days if days is not None else [None]:
        path = landing_file(landing_dir, schema, day)
        if path.is_file():
            rel = path.relative_to(landing_dir).as_posix()
            read.append(_read_file(path, rel, day, schema))
    result.files = [f.source_file for f in read]
    expected = {f.source_file: f.lines_read for f in read}
    result.rows_read = sum(expected.values())

    files = pa.table(
        {
            "file_id": pa.array(range(len(read)), pa.int32()),
            "source_file": pa.array([f.source_file for f in read], pa.string()),
            "partition_date": pa.array([f.partition or "" for f in read], pa.string()),
        }
    )
    lines = pa.table(
        {
            "file_id": pa.array(
                np.repeat(np.arange(len(read), dtype=np.int32), [len(f.text) for f in read]),
                pa.int32(),
            ),
            "line_no": pa.concat_arrays([f.line_no for f in read])
            if read
            else pa.array([], pa.int64()),
            "text": pa.concat_arrays([f.text for f in read])
            if read
            else pa.array([], pa.large_string()),
            "pre_reason": pa.concat_arrays([f.pre_reason for f in read])
            if read
            else pa.array([], pa.string()),
            "bad_text": pa.concat_arrays([f.bad_text for f in read])
            if read
            else pa.array([], pa.large_string()),
        }
    )
    con.register("files", files)
    con.register("lines", lines)
    con.execute("create or replace temp table classified as " + _classify_sql(schema))
    erased = _mark_erased(con, schema, raw_dir)

    table_dir = raw_table_dir(raw_dir, schema)
    q_dir = quarantine_table_dir(raw_dir, schema)
    # DuckDB writes straight into the final partition folders under a per-load temporary name
    # (never *.parquet), then each file is renamed over part-0.parquet: a rename in the same
    # folder is atomic, and no temporary folder tree has to be created and removed per load.
    stem = f"tmp_{uuid.uuid4().hex[:12]}"
    params = {"loaded_at": loaded_at}
    day_list: list[str | None] = list(days) if days is not None else [None]
    try:
        for base, select in (
            (table_dir, _loaded_select(schema, "c.reason is null")),
            (q_dir, _quarantine_select(schema, f"c.reason <> {_lit(ERASED_REASON)}")),
        ):
            base.mkdir(parents=True, exist_ok=True)
            if schema.daily:
                options = (
                    f"{RAW_PARQUET_OPTIONS}, partition_by ({PARTITION_COLUMN}), "
                    f"file_extension {_lit(TMP_EXTENSION)}, "
                    f"filename_pattern {_lit(stem + '_{i}')}, overwrite_or_ignore true"
                )
                con.execute(f"copy ({select}) to {_lit(str(base))} ({options})", params)
            else:
                target = base / f"{stem}_0.{TMP_EXTENSION}"
                con.execute(
                    f"copy ({select}) to {_lit(str(target))} ({RAW_PARQUET_OPTIONS})",
                    params,
                )
        # An empty raw file with the exact column types, for days without rows.
        empty = table_dir / f"{stem}_empty.{TMP_EXTENSION}"
        loaded_columns = _without_partition(_loaded_select(schema, "false"), schema)
        con.execute(f"copy ({loaded_columns}) to {_lit(str(empty))} (format parquet)", params)

        written_raw = _written_files(table_dir, stem, schema)
        written_q = _written_files(q_dir, stem, schema)
        _check_conservation(con, schema, written_raw, written_q, expected, erased)

        counts = con.execute(
            "select coalesce(reason, ''), count(*) from classified group by all"
        ).fetchall()
        for reason, n in sorted(counts, key=lambda r: -r[1]):
            if reason == ERASED_REASON:
                result.rows_erased += n
            elif reason:
                result.quarantine_reasons[reason] = n
                result.rows_quarantined += n
            else:
                result.rows_loaded += n
        if schema.daily:
            per_day = con.execute(
                "select f.partition_date, count(*) from classified c join files f using (file_id)"
                " where c.reason is null group by all"
            ).fetchall()
            loaded_by_day = dict(per_day)
            result.rows_by_partition = {d: loaded_by_day.get(d, 0) for d in days or []}
            erased_by_day = dict(
                con.execute(
                    "select f.partition_date, count(*) from classified c join files f "
                    f"using (file_id) where c.reason = {_lit(ERASED_REASON)} group by all"
                ).fetchall()
            )
            result.erased_by_partition = {
                d: erased_by_day[d] for d in days or [] if d in erased_by_day
            }

        _fault_point("extract:written")
        for day in day_list:
            final = raw_partition_file(raw_dir, schema, day)
            if day in written_raw:
                os.replace(written_raw.pop(day), final)
                _fault_point("extract:first_partition_replaced")
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                staged = final.parent / f"{stem}_0.{TMP_EXTENSION}"
                shutil.copyfile(empty, staged)
                os.replace(staged, final)
            # Quarantine files exist only for partitions with rejected rows; a re-run that
            # rejects nothing removes the previous run's file.
            q_final = quarantine_partition_file(raw_dir, schema, day)
            if day in written_q:
                q_final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(written_q.pop(day), q_final)
            else:
                q_final.unlink(missing_ok=True)
        if written_raw or written_q:
            stray = sorted(str(d) for d in {**written_raw, **written_q})
            raise ExtractionError(f"{schema.key}: rows written for days not asked for: {stray}")
    finally:
        con.unregister("files")
        con.unregister("lines")
        con.execute("drop table if exists classified")
        for base in (table_dir, q_dir):
            pattern = f"*/{stem}_*.{TMP_EXTENSION}" if schema.daily else f"{stem}_*"
            for leftover in [*base.glob(pattern), *base.glob(f"{stem}_*")]:
                leftover.unlink(missing_ok=True)
    if not result.is_conserved:  # the per-file check above is stricter; this guards the sums
        raise ExtractionError(f"row conservation broken: {result.summary()}")
    return result


def _mark_erased(con: duckdb.DuckDBPyConnection, schema: TableSchema, raw_dir: Path) -> dict:
    """Mark lines carrying a tombstoned identifier (orchestration/erasure.py) as erased, whatever
    their quarantine reason: an erased person's rows go neither to raw nor to quarantine, so
    re-extracting old landing files never brings them back. Returns erased lines per file."""
    from orchestration.erasure import load_key_tombstones, match_sql

    condition = match_sql(schema.system, schema.table)
    tombstones = load_key_tombstones(raw_dir) if condition else None
    if tombstones is None:
        return {}
    salt, keys = tombstones
    con.execute("set variable erasure_salt = ?", [salt])
    con.register("erasure_keys", keys)
    try:
        con.execute(
            f"update classified set reason = {_lit(ERASED_REASON)} "
            f"where coalesce({condition}, false)"
        )
        return dict(
            con.execute(
                "select f.source_file, count(*) from classified c join files f using (file_id) "
                f"where c.reason = {_lit(ERASED_REASON)} group by all"
            ).fetchall()
        )
    finally:
        con.unregister("erasure_keys")


def _without_partition(select: str, schema: TableSchema) -> str:
    if not schema.daily:
        return select
    return f"select * exclude ({PARTITION_COLUMN}) from ({select})"


def _written_files(base: Path, stem: str, schema: TableSchema) -> dict[str | None, Path]:
    """The files one COPY wrote, by partition day (None for a snapshot)."""
    if not schema.daily:
        found = base / f"{stem}_0.{TMP_EXTENSION}"
        return {None: found} if found.exists() else {}
    written: dict[str | None, Path] = {}
    prefix = f"{PARTITION_COLUMN}="
    for path in base.glob(f"{prefix}*/{stem}_*.{TMP_EXTENSION}"):
        day = path.parent.name.removeprefix(prefix)
        if day in written:
            raise ExtractionError(f"DuckDB wrote several files for {path.parent}")
        written[day] = path
    return written


def _check_conservation(
    con: duckdb.DuckDBPyConnection,
    schema: TableSchema,
    written_raw: dict[str | None, Path],
    written_q: dict[str | None, Path],
    expected: dict[str, int],
    erased: dict[str, int] | None = None,
) -> None:
    """Lines read (counted from the bytes) = rows written + rows quarantined + rows erased,
    file by file, counted from the Parquet files just written, before any of them replaces a
    partition."""
    written: Counter[str] = Counter(erased or {})
    for files, column in ((written_raw, "_source_file"), (written_q, "source_file")):
        if not files:
            continue
        rows = con.execute(
            f"select {column}, count(*) from read_parquet($files) group by all",
            {"files": [str(p) for p in files.values()]},
        ).fetchall()
        for source_file, n in rows:
            written[source_file] += n
    broken = {
        f: (expected.get(f, 0), written.get(f, 0))
        for f in set(expected) | set(written)
        if expected.get(f, 0) != written.get(f, 0)
    }
    if broken:
        detail = "; ".join(
            f"{f}: {n_read} lines read, {n_written} rows written"
            for f, (n_read, n_written) in sorted(broken.items())
        )
        raise ExtractionError(
            f"row conservation broken for {schema.key} (lines read != rows loaded + rows "
            f"quarantined + rows erased); nothing was replaced. {detail}"
        )


def _batches(landing_dir: Path, schema: TableSchema, days: list[str], batch_bytes: int):
    batch: list[str] = []
    size = 0
    for day in days:
        path = landing_file(landing_dir, schema, day)
        day_size = path.stat().st_size if path.is_file() else 0
        if batch and size + day_size > batch_bytes:
            yield batch
            batch, size = [], 0
        batch.append(day)
        size += day_size
    if batch:
        yield batch


# --------------------------------------------------------------------------- public API


def load_table(
    system: str,
    table: str,
    landing_dir: Path | str,
    raw_dir: Path | str,
    days: Iterable[str | date] | None = None,
    *,
    loaded_at: datetime | None = None,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
) -> LoadResult:
    """Load one table: the given partition days of a daily table, or a snapshot table whole.

    Re-running a day replaces its files (idempotent). A day without a landing file gets empty
    Parquet files with the full column list.
    """
    schema = get_table(system, table)
    landing_dir, raw_dir = Path(landing_dir).resolve(), Path(raw_dir).resolve()
    loaded_at = loaded_at or datetime.now(UTC)
    with _table_load_lock(raw_dir, schema):
        return _load_table(schema, landing_dir, raw_dir, days, loaded_at, batch_bytes)


@contextmanager
def _table_load_lock(raw_dir: Path, schema: TableSchema):
    """One load per raw table at a time. Whoever holds it may sweep temporary files: they can
    only be debris of a load that died (killed mid-write), never of a live one."""
    table_dir = raw_table_dir(raw_dir, schema)
    with locks.flock(table_dir / ".load.lock"):
        swept = 0
        for base in (table_dir, quarantine_table_dir(raw_dir, schema)):
            for debris in [*base.glob(f"*/tmp_*.{TMP_EXTENSION}"), *base.glob("tmp_*")]:
                debris.unlink(missing_ok=True)
                swept += 1
        if swept:
            log.warning("%s: removed %d temporary files of a load that died", schema.key, swept)
        yield


def _load_table(
    schema: TableSchema,
    landing_dir: Path,
    raw_dir: Path,
    days: Iterable[str | date] | None,
    loaded_at: datetime,
    batch_bytes: int,
) -> LoadResult:
    con = _connect()
    try:
        if not schema.daily:
            if days:
                raise ValueError(f"{schema.key} is a snapshot table: it has no partition days")
            return _load_batch(con, schema, landing_dir, raw_dir, None, loaded_at)
        if days is None:
            raise ValueError(f"{schema.key} is daily: say which days to load")
        day_list = _normalise_days(days)
        result = LoadResult(schema.system, schema.table)
        for batch in _batches(landing_dir, schema, day_list, batch_bytes):
            result = result.merge(_load_batch(con, schema, landing_dir, raw_dir, batch, loaded_at))
            log.info("%s", result.summary())
        return result
    finally:
        con.close()


def load_system(
    system: str,
    landing_dir: Path | str,
    raw_dir: Path | str,
    days: Iterable[str | date] | None = None,
    *,
    loaded_at: datetime | None = None,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
) -> dict[str, LoadResult]:
    """Load every table of a system for the given days (all days found when None)."""
    tables = tables_of(system)
    loaded_at = loaded_at or datetime.now(UTC)
    if tables[0].daily and days is None:
        days = discover_days(Path(landing_dir), system)
    day_list = list(days) if days is not None else None
    # The data folder is the raw zone's parent; an erasure waits for this write (locks.py).
    with locks.build_step(Path(raw_dir).resolve().parent, f"extraction of {system}"):
        return {
            t.table: load_table(
                system,
                t.table,
                landing_dir,
                raw_dir,
                day_list if t.daily else None,
                loaded_at=loaded_at,
                batch_bytes=batch_bytes,
            )
            for t in tables
        }


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
        days = landing_window_days(landing_dir)
    loaded_at = datetime.now(UTC)

    def one(system: str) -> list[LoadResult]:
        window = days if system in DAILY_SYSTEMS else None
        return list(load_system(system, landing_dir, raw_dir, window, loaded_at=loaded_at).values())

    # Systems load in parallel: a load spends most of its time creating and renaming one file
    # per day, waiting on the file system rather than the CPU.
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return [r for batch in pool.map(one, systems) for r in batch]


def landing_window_days(landing_dir: Path) -> list[str]:
    """Every day from the first to the last day folder any daily system has in the landing
    zone (days in between where nothing was exported included); empty when there is none."""
    found = sorted({d for s in DAILY_SYSTEMS for d in discover_days(Path(landing_dir), s)})
    return every_day(found[0], found[-1]) if found else []


def every_day(first: str, last: str) -> list[str]:
    """The ISO days from `first` to `last`, both included."""
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]
