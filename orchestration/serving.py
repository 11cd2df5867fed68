"""Publish the marts as an immutable Parquet snapshot behind a read-only DuckDB catalogue for BI.

Layout under ``<data>/serving/`` (see docs/bi.md)::

    snapshots/<build_id>/bi/<mart>.parquet      PII-safe copy (emails/phones hashed, names dropped)
    snapshots/<build_id>/marts/<mart>.parquet   full copy, only when CLIENTBASE_SERVE_PII=true
    snapshots/<build_id>/clientbase.duckdb      catalogue: views over that snapshot + bi.build_info
    clientbase.duckdb -> snapshots/<build_id>/clientbase.duckdb   symlink, swapped atomically

Every night's catalogue file is called clientbase.duckdb because DuckDB names the database after
the file it resolves to: BI tools then always see the catalog "clientbase", never a dated name
that would break saved datasets the next morning.

Why this shape: a DuckDB file being written by dbt is locked against every other process, so BI
tools must never open the working warehouse. Each night is written to new files nobody reads yet
and then becomes visible through one atomic rename, so a reader opens either last night's complete
catalogue or tonight's, never a mix; readers that still hold an older catalogue keep working
because its files stay on disk for ``keep`` more publishes.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration import locks
from orchestration.config import get_settings

log = logging.getLogger(__name__)

CATALOGUE_NAME = "clientbase.duckdb"
SALT_ENV = "CLIENTBASE_PII_SALT"
SERVE_PII_ENV = "CLIENTBASE_SERVE_PII"
KEEP_ENV = "CLIENTBASE_SERVING_KEEP"
DEFAULT_KEEP = 3
MART_SCHEMA = "marts"
SAFE_SCHEMA = "bi"

# Columns classified by name. Contact points and identifiers (emails, phones, cards, cookies,
# messenger ids, and "type:value" identifiers in the identity marts) are hashed with a salted
# SHA-256 so BI can still count and join on them; names and birthdays have no analytic use as raw
# values and are dropped.
_HASH_NAME = re.compile(
    r"^(.*_)?(email|phone|address|telegram_id|vk_id|contact_point|contact_point_id|card_number"
    r"|anonymous_id)(_raw|_normalised)?(_[ab])?$"
)
_FLAG_NAME = re.compile(r"^(is|has)_")
_IDENTIFIER_NAME = re.compile(r"(^|_)identifier(_value)?(_[ab])?$")
_DROP_NAME = re.compile(
    r"^(first_name|last_name|middle_name|full_name|holder_name|customer_name|contact_name"
    r"|display_name|name|birth_date|birthday|ip_address|user_agent)(_latin|_raw)?$"
)
# Safety net for columns whose name says nothing: sampled values that look like an email (also
# inside "email:..." identifiers) or a phone number get the column hashed too.
_EMAIL_VALUE = r"[^@\s]+@[^@\s]+\.[^@\s]+"
_PHONE_VALUE = r"^([a-z_]+:)?\+?[0-9 ()\-]{9,22}$"
_SNIFF_SAMPLE_ROWS = 5000
_SNIFF_SHARE = 0.1
_BUILD_ID = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{6}$")
# zstd at its fastest level: the published files are mostly salted SHA-256 hex digests, which no
# level compresses, and on size L level 1 writes the largest mart (21M rows) in 31 s instead of
# level 3's 38 s for files 3% larger.
_PARQUET_OPTIONS = "format parquet, compression zstd, compression_level 1"


def _fault_point(name: str) -> None:
    """Test hook: die like `kill -9` at a named point of a publish when CLIENTBASE_FAULT_POINT
    names it (tests/test_publish_faults.py); a no-op otherwise."""
    if os.environ.get("CLIENTBASE_FAULT_POINT") == name:
        os._exit(137)


class PublishRefused(RuntimeError):
    """Publishing was refused; ``reasons`` lists why (e.g. the failed blocking checks)."""

    def __init__(self, message: str, reasons: list[str]):
        super().__init__(message)
        self.reasons = reasons


@dataclass
class MartSnapshot:
    name: str
    row_count: int
    checksum: int
    hashed_columns: list[str] = field(default_factory=list)
    dropped_columns: list[str] = field(default_factory=list)


@dataclass
class PublishResult:
    build_id: str
    catalogue_path: Path
    snapshot_dir: Path
    marts: list[MartSnapshot]
    pii_served: bool
    removed_snapshots: list[str]
    seconds: float

    def as_metadata(self) -> dict:
        return {
            "build_id": self.build_id,
            "catalogue": str(self.catalogue_path),
            "snapshot_dir": str(self.snapshot_dir),
            "marts": len(self.marts),
            "rows": sum(m.row_count for m in self.marts),
            "pii_served": self.pii_served,
            "hashed_columns": {m.name: m.hashed_columns for m in self.marts if m.hashed_columns},
            "dropped_columns": {m.name: m.dropped_columns for m in self.marts if m.dropped_columns},
            "removed_snapshots": self.removed_snapshots,
            "seconds": round(self.seconds, 2),
        }


def new_build_id(now: datetime | None = None) -> str:
    """Sortable by time down to the microsecond (GC keeps the newest); the suffix keeps two
    publishes in the same instant apart."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%S%f}Z-{uuid.uuid4().hex[:6]}"


def serve_pii_allowed() -> bool:
    return os.environ.get(SERVE_PII_ENV, "").strip().lower() in {"1", "true", "yes"}


def resolve_salt(serving_dir: Path) -> str:
    """The PII hashing salt: from the environment, else a random one persisted beside the serving
    files so hashes stay stable from night to night. Never a constant in the code: a known salt
    would let anyone with a list of phone numbers reverse the hashes."""
    salt = os.environ.get(SALT_ENV, "").strip()
    if salt:
        return salt
    salt_file = serving_dir / ".salt"
    if salt_file.exists():
        salt = salt_file.read_text().strip()
        if salt:
            return salt
    serving_dir.mkdir(parents=True, exist_ok=True)
    salt = secrets.token_hex(32)
    # O_EXCL: two first-time publishes racing must not end up with different salts.
    try:
        fd = os.open(salt_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return salt_file.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(salt + "\n")
    log.warning(
        "%s is not set: generated a random PII salt and kept it in %s (set the variable in "
        "production so the salt lives with your other secrets)",
        SALT_ENV,
        salt_file,
    )
    return salt


def connect_read_only(path: Path, *, timeout_seconds: float = 60.0) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file read-only, waiting while a writer (dbt) still holds its lock."""
    deadline = time.monotonic() + timeout_seconds
    delay = 0.2
    while True:
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.IOException as error:
            if "lock" not in str(error).lower() or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def list_marts(con: duckdb.DuckDBPyConnection, schema: str = MART_SCHEMA) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ? "
        "order by table_name",
        [schema],
    ).fetchall()
    return [row[0] for row in rows]


def pii_action(column: str) -> str | None:
    """'hash', 'drop' or None for a column name (the PII-safe schema's rule, also used to keep
    PII out of the audience filter language)."""
    name = column.lower()
    # Flags about an address (is_sendable_email, has_email_consent) hold no address: they are
    # what BI filters and counts on, so neither hashed nor dropped.
    if _FLAG_NAME.match(name):
        return None
    if _DROP_NAME.match(name):
        return "drop"
    if _HASH_NAME.match(name):
        return "hash"
    # identifier, identifier_value, anchor_identifier, cause_identifier_a... but not the
    # identifier_type columns or counts such as identifiers_moved / identifier_count.
    if _IDENTIFIER_NAME.search(name):
        return "hash"
    return None


def _classify_columns(
    con: duckdb.DuckDBPyConnection, schema: str, table: str
) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """Return (columns with their type, columns to hash, columns to drop) for the PII-safe copy."""
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    to_hash, to_drop, to_sniff = [], [], []
    for name, data_type in columns:
        action = pii_action(name)
        if action == "drop":
            to_drop.append(name)
        elif action == "hash":
            to_hash.append(name)
        elif data_type.upper() == "VARCHAR":
            to_sniff.append(name)
    if to_sniff:
        checks = ", ".join(
            f"avg(case when {_quote(c)} is null then null "
            f"when regexp_matches({_quote(c)}, {_sql_string(_EMAIL_VALUE)}) then 1.0 "
            f"when regexp_full_match({_quote(c)}, {_sql_string(_PHONE_VALUE)}) "
            f"and length(regexp_replace({_quote(c)}, '[^0-9]', '', 'g')) between 10 and 15 "
            "then 1.0 else 0.0 end)"
            for c in to_sniff
        )
        shares = con.execute(
            f"select {checks} from (select * from {_quote(schema)}.{_quote(table)} "
            f"limit {_SNIFF_SAMPLE_ROWS})"
        ).fetchone()
        # Shares of non-null values: a mostly-empty email column still counts as email.
        to_hash += [
            c for c, share in zip(to_sniff, shares, strict=True) if (share or 0) >= _SNIFF_SHARE
        ]
    return columns, to_hash, to_drop


def _safe_select(columns, to_hash, to_drop, source: str) -> str:
    parts = []
    for name, _type in columns:
        if name in to_drop:
            continue
        if name in to_hash:
            # The salt comes from a session variable, never from the SQL text.
            parts.append(
                f"case when {_quote(name)} is null then null else "
                f"sha256(getvariable('pii_salt') || cast({_quote(name)} as varchar)) end "
                f"as {_quote(name)}"
            )
        else:
            parts.append(_quote(name))
    return f"select {', '.join(parts) or '1 as empty'} from {source}"


def _checksum(con: duckdb.DuckDBPyConnection, parquet: Path) -> tuple[int, int]:
    """Row count and an order-independent checksum of a Parquet file, as a reader will see it."""
    count, checksum = con.execute(
        "select count(*), coalesce(bit_xor(hash(t)), 0) "
        f"from read_parquet({_sql_string(str(parquet))}) t"
    ).fetchone()
    return int(count), int(checksum)


def _write_snapshot(
    warehouse_path: Path,
    snapshot_dir: Path,
    *,
    salt: str,
    serve_pii: bool,
    marts: Iterable[str] | None,
) -> list[MartSnapshot]:
    con = connect_read_only(warehouse_path)
    try:
        con.execute("set variable pii_salt = ?", [salt])
        # A mart is a set: its file need not keep the table's row order, and letting DuckDB's
        # threads write row groups as they finish makes the copies ~20% faster (size L: 61 ->
        # 49 s over all marts).
        con.execute("set preserve_insertion_order = false")
        names = list(marts) if marts is not None else list_marts(con)
        if not names:
            raise PublishRefused(
                f"no tables in schema {MART_SCHEMA!r} of {warehouse_path}: nothing to publish",
                ["no marts"],
            )
        (snapshot_dir / SAFE_SCHEMA).mkdir(parents=True)
        if serve_pii:
            (snapshot_dir / MART_SCHEMA).mkdir()
        snapshots = []
        for name in names:
            source = f"{_quote(MART_SCHEMA)}.{_quote(name)}"
            columns, to_hash, to_drop = _classify_columns(con, MART_SCHEMA, name)
            safe_file = snapshot_dir / SAFE_SCHEMA / f"{name}.parquet"
            con.execute(
                f"copy ({_safe_select(columns, to_hash, to_drop, source)}) "
                f"to {_sql_string(str(safe_file))} ({_PARQUET_OPTIONS})"
            )
            if serve_pii:
                full_file = snapshot_dir / MART_SCHEMA / f"{name}.parquet"
                con.execute(
                    f"copy (select * from {source}) to {_sql_string(str(full_file))} "
                    f"({_PARQUET_OPTIONS})"
                )
            count, checksum = _checksum(con, safe_file)
            snapshots.append(MartSnapshot(name, count, checksum, to_hash, to_drop))
        return snapshots
    finally:
        con.close()


def _write_catalogue(
    catalogue_path: Path,
    snapshot_dir: Path,
    build_id: str,
    marts: list[MartSnapshot],
    serve_pii: bool,
    warehouse_path: Path,
) -> None:
    con = duckdb.connect(str(catalogue_path))
    try:
        schemas = [SAFE_SCHEMA] + ([MART_SCHEMA] if serve_pii else [])
        for schema in schemas:
            con.execute(f"create schema {_quote(schema)}")
            for mart in marts:
                parquet = snapshot_dir / schema / f"{mart.name}.parquet"
                # Absolute paths: a view's relative path would resolve against the reader's cwd.
                con.execute(
                    f"create view {_quote(schema)}.{_quote(mart.name)} as "
                    f"select * from read_parquet({_sql_string(str(parquet))})"
                )
        published_at = datetime.now(UTC)
        con.execute(
            f"create table {SAFE_SCHEMA}.build_info as select ? as build_id, "
            "cast(? as timestamptz) as published_at, ? as pii_served, ? as warehouse, "
            "? as mart_count",
            [build_id, published_at, serve_pii, str(warehouse_path), len(marts)],
        )
        con.execute(
            f"create table {SAFE_SCHEMA}.build_marts (build_id varchar, mart varchar, "
            "row_count bigint, checksum ubigint, hashed_columns varchar, dropped_columns varchar)"
        )
        con.executemany(
            f"insert into {SAFE_SCHEMA}.build_marts values (?, ?, ?, ?, ?, ?)",
            [
                (
                    build_id,
                    m.name,
                    m.row_count,
                    m.checksum,
                    ",".join(m.hashed_columns),
                    ",".join(m.dropped_columns),
                )
                for m in marts
            ],
        )
        # Fold the WAL into the file: readers open read-only and must find everything in it.
        con.execute("checkpoint")
    finally:
        con.close()


def _switch(serving_dir: Path, catalogue_path: Path) -> None:
    """Point clientbase.duckdb at the new catalogue in one rename (atomic on POSIX)."""
    link = serving_dir / CATALOGUE_NAME
    temp_link = serving_dir / f".{CATALOGUE_NAME}.{os.getpid()}.{uuid.uuid4().hex[:6]}"
    # Relative target: the serving folder can be moved or mounted elsewhere as a whole.
    os.symlink(catalogue_path.relative_to(serving_dir), temp_link)
    os.replace(temp_link, link)
    _fsync_dir(serving_dir)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def current_build_id(serving_dir: Path | None = None) -> str | None:
    """The build readers get when they open clientbase.duckdb now (None before the first)."""
    serving_dir = serving_dir or get_settings().serving_dir
    link = serving_dir / CATALOGUE_NAME
    if not link.is_symlink():
        return None
    build_id = Path(os.readlink(link)).parent.name
    return build_id if _BUILD_ID.match(build_id) else None


@contextmanager
def _publish_lock(serving_dir: Path):
    """One publish at a time per serving folder (a manual publish during the nightly one)."""
    def refused() -> PublishRefused:
        return PublishRefused(
            f"another publish into {serving_dir} is running", ["publish already running"]
        )

    with locks.flock(serving_dir / ".publish.lock", wait=False, busy=refused):
        yield


def collect_garbage(serving_dir: Path, keep: int = DEFAULT_KEEP) -> list[str]:
    """Delete all but the ``keep`` newest complete snapshots, never the current one, plus what
    publishes that died half way left behind (``*.tmp`` folders, snapshots without a catalogue,
    stray temporary links). Call it only under the publish lock."""
    snapshots_dir = serving_dir / "snapshots"
    if not snapshots_dir.exists():
        return []
    current = current_build_id(serving_dir)
    complete, incomplete = [], []
    for path in snapshots_dir.iterdir():
        if path.is_dir() and _BUILD_ID.match(path.name):
            (complete if (path / CATALOGUE_NAME).exists() else incomplete).append(path.name)
    complete.sort(reverse=True)
    removed = []
    for build_id in complete[max(keep, 1) :] + incomplete:
        if build_id == current:
            continue
        shutil.rmtree(snapshots_dir / build_id, ignore_errors=True)
        removed.append(build_id)
    for leftover in snapshots_dir.glob("*.tmp"):
        shutil.rmtree(leftover, ignore_errors=True)
    for temp_link in serving_dir.glob(f".{CATALOGUE_NAME}.*"):
        temp_link.unlink(missing_ok=True)
    return sorted(removed)


def publish(
    *,
    warehouse_path: Path | None = None,
    serving_dir: Path | None = None,
    build_id: str | None = None,
    run_results_path: Path | None = None,
    gate: Callable[[Path], list] | None = None,
    serve_pii: bool | None = None,
    keep: int | None = None,
    marts: Iterable[str] | None = None,
) -> PublishResult:
    """Export every mart to a new snapshot, build its catalogue and switch readers over to it.

    Refuses (``PublishRefused``) when the build's blocking checks failed: BI then keeps serving the
    last good night instead of tonight's bad data.
    """
    started = time.monotonic()
    settings = get_settings()
    warehouse_path = Path(warehouse_path or settings.warehouse_path)
    serving_dir = Path(serving_dir or settings.serving_dir)
    serve_pii = serve_pii_allowed() if serve_pii is None else serve_pii
    keep = keep if keep is not None else int(os.environ.get(KEEP_ENV, DEFAULT_KEEP))

    if run_results_path is not None:
        if gate is None:
            from orchestration.checks.gate import failed_blocking_checks as gate
        failed = list(gate(Path(run_results_path)))
        if failed:
            raise PublishRefused(
                f"not publishing: {len(failed)} blocking check(s) failed; BI keeps serving build "
                f"{current_build_id(serving_dir) or '(none yet)'}",
                [str(f) for f in failed],
            )
    link = serving_dir / CATALOGUE_NAME
    if link.exists() and not link.is_symlink():
        raise PublishRefused(
            f"{link} is a regular file, not the symlink publishing manages; move it away first",
            ["serving path is not a symlink"],
        )
    if not warehouse_path.exists():
        raise PublishRefused(f"working warehouse {warehouse_path} does not exist", ["no warehouse"])

    build_id = build_id or new_build_id()
    if not _BUILD_ID.match(build_id):
        raise ValueError(f"build id {build_id!r} does not look like {new_build_id()!r}")
    snapshots_dir = serving_dir / "snapshots"
    snapshots_dir.mkdir(parents=True, exist_ok=True)
    salt = resolve_salt(serving_dir)

    with _publish_lock(serving_dir):
        # Write under temporary names, rename when complete: a crash leaves nothing that could
        # be mistaken for a good night (and the next publish sweeps it away).
        temp_dir = snapshots_dir / f"{build_id}.tmp"
        snapshot_dir = snapshots_dir / build_id
        catalogue_path = snapshot_dir / CATALOGUE_NAME
        temp_catalogue = snapshot_dir / f".{CATALOGUE_NAME}.tmp"
        try:
            mart_snapshots = _write_snapshot(
                warehouse_path, temp_dir, salt=salt, serve_pii=serve_pii, marts=marts
            )
            _fault_point("publish:snapshot_written")
            os.rename(temp_dir, snapshot_dir)
            _fault_point("publish:snapshot_renamed")
            # The views bind to the Parquet files' final paths, so the catalogue comes second.
            _write_catalogue(
                temp_catalogue, snapshot_dir, build_id, mart_snapshots, serve_pii, warehouse_path
            )
            os.replace(temp_catalogue, catalogue_path)
            _fault_point("publish:catalogue_written")
        except BaseException:
            shutil.rmtree(temp_dir, ignore_errors=True)
            shutil.rmtree(snapshot_dir, ignore_errors=True)
            raise
        _switch(serving_dir, catalogue_path)
        _fault_point("publish:switched")
        # For tools that cannot follow symlinks (and for people): which night is being served.
        pointer = serving_dir / f".current.json.{os.getpid()}"
        pointer.write_text(
            json.dumps({"build_id": build_id, "catalogue": str(catalogue_path)}) + "\n"
        )
        os.replace(pointer, serving_dir / "current.json")
        removed = collect_garbage(serving_dir, keep)
    result = PublishResult(
        build_id=build_id,
        catalogue_path=catalogue_path,
        snapshot_dir=snapshot_dir,
        marts=mart_snapshots,
        pii_served=serve_pii,
        removed_snapshots=removed,
        seconds=time.monotonic() - started,
    )
    log.info("published build %s: %d marts", build_id, len(mart_snapshots))
    return result


def open_serving(serving_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """How readers connect: read-only, to whatever night is current when they open it."""
    serving_dir = serving_dir or get_settings().serving_dir
    path = serving_dir / CATALOGUE_NAME
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist yet: run a build and publish first")
    return duckdb.connect(str(path), read_only=True)
