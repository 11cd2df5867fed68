"""Erasure that sticks: tombstone a resolved customer, scrub every copy of them, prove it.

`clientbase erase --email X | --phone X | --card X | --customer-id X` resolves the customer in
the warehouse's identity tables, collects every identifier and source record linked to them,
and stores only salted SHA-256 hashes of those in `<data>/erasure/tombstones.csv` (the salt is
the serving salt, `CLIENTBASE_PII_SALT`). Two kinds of hash are kept:

- `key`: sha256(salt || type || ':' || erasure_key(value)) of identifier *types* as they appear
  in raw columns (email lower-cased, phone = last 10 digits, card alphanumerics...). Extraction
  (`orchestration/extraction/loader.py`) drops every landing row whose identifier columns hash
  to a key tombstone and counts it as `erased`, so re-extracting old landing files never brings
  the person back.
- `value`: sha256(salt || exact string) of every string the warehouse held for them (customer
  id, normalised identifiers, `type:value` identifiers, record ids, `shop-`/`pos-` order ids).
  The same formula is what the `bi` serving schema publishes for hashed columns, so the proof can
  check hashed serving columns too, without ever keeping a raw value.

The command then scrubs what exists now: raw partitions and quarantine files (rewritten via a
temporary file + rename), the working warehouse (rows deleted from every table, incremental
ones included), export files, and serving (republished from the scrubbed warehouse, every older
snapshot purged). `clientbase erase --prove ...` rescans all of them and reports per location.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import shutil
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration import locks
from orchestration.config import get_settings

log = logging.getLogger(__name__)

ERASED_REASON = "erased"  # the loader's marker for a dropped row; never a quarantine reason
TOMBSTONE_FIELDS = ["request_id", "erased_at", "kind", "identifier_type", "hash"]
REQUEST_FIELDS = [
    "request_id",
    "requested_at",
    "lookup_type",
    "lookup_hash",
    "customers",
    "key_tombstones",
    "value_tombstones",
    "raw_rows_removed",
    "warehouse_rows_removed",
    "export_rows_removed",
]
LOOKUP_TYPES = {"email": "email", "phone": "phone", "card": "loyalty_card"}

# Which raw columns carry which identifier type, per raw table. Record ids count as
# identifiers (`shop_order`, `pos_receipt`...) so order and receipt lines, which carry no
# contact point, go with their order.
IDENTIFIER_COLUMNS: dict[tuple[str, str], list[tuple[str, str]]] = {
    ("crm", "contacts"): [
        ("contact_id", "crm_contact_id"),
        ("email", "email"),
        ("phone", "phone"),
        ("telegram_id", "telegram_id"),
        ("vk_id", "vk_id"),
    ],
    ("shop", "orders"): [
        ("order_id", "shop_order"),
        ("user_id", "crm_contact_id"),
        ("email", "email"),
        ("phone", "phone"),
        ("anonymous_id", "cookie"),
    ],
    ("shop", "order_lines"): [("order_id", "shop_order")],
    ("pos", "receipts"): [
        ("receipt_id", "pos_receipt"),
        ("original_receipt_id", "pos_receipt"),
        ("loyalty_card_number", "loyalty_card"),
        ("customer_phone", "phone"),
    ],
    ("pos", "receipt_lines"): [("receipt_id", "pos_receipt")],
    ("loyalty", "cards"): [("card_number", "loyalty_card"), ("phone", "phone"), ("email", "email")],
    ("web", "events"): [
        ("anonymous_id", "cookie"),
        ("user_id", "crm_contact_id"),
        ("email", "email"),
    ],
    # The ESP's address is an e-mail, a phone or a telegram id depending on the channel; the keys
    # of the three types cannot collide, so all three are tried.
    ("messaging", "events"): [
        ("address", "email"),
        ("address", "phone"),
        ("address", "telegram_id"),
    ],
    ("surveys", "responses"): [
        ("response_id", "survey_response"),
        ("email", "email"),
        ("phone", "phone"),
    ],
    # Written by the contact-point checking asset from the raw tables above.
    ("reference", "contact_point_checks"): [
        ("value_raw", "email"),
        ("value_raw", "phone"),
        ("normalised", "email"),
        ("normalised", "phone"),
    ],
}
# identity record types -> identifier type of their record id (messaging: by channel, below)
RECORD_TYPES = {
    "crm_contact": "crm_contact_id",
    "shop_order": "shop_order",
    "pos_receipt": "pos_receipt",
    "loyalty_card": "loyalty_card",
    "web_cookie": "cookie",
    "survey_response": "survey_response",
}
MESSAGING_CHANNEL_TYPES = {
    "email": "email",
    "sms": "phone",
    "whatsapp": "phone",
    "telegram": "telegram_id",
}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def key_sql(identifier_type: str, expr: str) -> str:
    """The erasure key of a raw value: tolerant of the formatting differences between sources,
    so the same person's phone typed `8 (916) 123-45-67` and `+79161234567` match."""
    if identifier_type == "email":
        return f"nullif(lower(trim({expr})), '')"
    if identifier_type == "phone":
        digits = f"regexp_replace({expr}, '[^0-9]', '', 'g')"
        return f"case when length({digits}) >= 7 then right({digits}, 10) end"
    if identifier_type == "loyalty_card":
        return f"nullif(upper(regexp_replace({expr}, '[^0-9A-Za-z]', '', 'g')), '')"
    return f"nullif(trim({expr}), '')"


def key_hash_sql(identifier_type: str, expr: str) -> str:
    """Salted hash of an erasure key; the salt is the session variable `erasure_salt`."""
    key = key_sql(identifier_type, f"cast({expr} as varchar)")
    return f"sha256(getvariable('erasure_salt') || '{identifier_type}:' || {key})"


def match_sql(system: str, table: str, columns: set[str] | None = None) -> str | None:
    """SQL condition: the row carries a tombstoned identifier (relation `erasure_keys(hash)`
    must be registered). None when the table has no identifier columns."""
    pairs = [
        (c, t)
        for c, t in IDENTIFIER_COLUMNS.get((system, table), [])
        if columns is None or c in columns
    ]
    if not pairs:
        return None
    return (
        "("
        + " or ".join(
            f"{key_hash_sql(t, _q(c))} in (select hash from erasure_keys)" for c, t in pairs
        )
        + ")"
    )


# --------------------------------------------------------------------------- storage


def erasure_dir(data_dir: Path | None = None) -> Path:
    return Path(data_dir or get_settings().data_dir) / "erasure"


def _salt(data_dir: Path) -> str:
    from orchestration.serving import resolve_salt

    return resolve_salt(data_dir / "serving")


def read_tombstones(
    data_dir: Path, kind: str | None = None, request_id: str | None = None
) -> list[dict]:
    path = erasure_dir(data_dir) / "tombstones.csv"
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [
        r
        for r in rows
        if (kind is None or r["kind"] == kind)
        and (request_id is None or r["request_id"] == request_id)
    ]


def load_key_tombstones(raw_dir: Path) -> tuple[str, pa.Table] | None:
    """(salt, table of key hashes) for the loader, or None when nobody was erased. The data
    folder is the raw zone's parent (ARCHITECTURE.md: `<data>/raw`)."""
    data_dir = Path(raw_dir).resolve().parent
    rows = read_tombstones(data_dir, kind="key")
    if not rows:
        return None
    hashes = sorted({r["hash"] for r in rows})
    return _salt(data_dir), pa.table({"hash": pa.array(hashes, pa.string())})


def _append_csv(path: Path, fields: list[str], rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        if new:
            writer.writeheader()
        writer.writerows(rows)
        handle.flush()
        os.fsync(handle.fileno())


# --------------------------------------------------------------------------- resolution


@dataclass
class ErasureSet:
    """What identifies one erasure request's people; raw values live only in memory."""

    customers: list[str] = field(default_factory=list)
    keys: set[tuple[str, str]] = field(default_factory=set)  # (identifier type, raw value)
    values: set[str] = field(default_factory=set)  # exact strings the warehouse holds


def _connect(
    salt: str, path: str = ":memory:", read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(path, read_only=read_only)
    con.execute("set variable erasure_salt = ?", [salt])
    con.execute("set variable pii_salt = ?", [salt])
    return con


def resolve(con: duckdb.DuckDBPyConnection, lookup_type: str, value: str) -> ErasureSet:
    """Every identifier and record of the customer(s) the lookup value resolves to."""
    found = ErasureSet()
    if lookup_type == "customer_id":
        customers = [
            r[0]
            for r in con.execute(
                "select distinct customer_id from intermediate.int_identifiers_resolved "
                "where customer_id = ?",
                [value.strip()],
            ).fetchall()
        ]
    else:
        id_type = LOOKUP_TYPES[lookup_type]
        found.keys.add((id_type, value))
        customers = [
            r[0]
            for r in con.execute(
                f"select distinct customer_id from intermediate.int_identifiers_resolved "
                f"where identifier_type = ? and customer_id is not null "
                f"and {key_sql(id_type, 'identifier_value')} = "
                f"(select {key_sql(id_type, 'v')} from (select ? as v))",
                [id_type, value],
            ).fetchall()
        ]
    found.customers = sorted(customers)
    if not customers:
        return found
    found.values.update(customers)
    for id_type, id_value, identifier in con.execute(
        "select identifier_type, identifier_value, identifier "
        "from intermediate.int_identifiers_resolved where list_contains(?, customer_id)",
        [customers],
    ).fetchall():
        found.keys.add((id_type, id_value))
        found.values.update(v for v in (id_value, identifier) if v)
    for record_type, record_id, source_record_id in con.execute(
        "select record_type, record_id, source_record_id "
        "from intermediate.int_source_records_resolved where list_contains(?, customer_id)",
        [customers],
    ).fetchall():
        found.values.update(v for v in (record_id, source_record_id) if v)
        if record_type == "messaging_address":
            channel, _, address = record_id.partition(":")
            found.keys.add((MESSAGING_CHANNEL_TYPES.get(channel, "email"), address))
        elif record_type in RECORD_TYPES:
            found.keys.add((RECORD_TYPES[record_type], record_id))
        if record_type == "shop_order":
            found.values.add(f"shop-{record_id}")
        elif record_type == "pos_receipt":
            found.values.add(f"pos-{record_id}")
    return found


def _hashes(
    con: duckdb.DuckDBPyConnection, found: ErasureSet
) -> tuple[list[tuple[str, str]], list[str]]:
    """(type, key hash) pairs and value hashes, computed with the same SQL the loader uses."""
    keys: set[tuple[str, str]] = set()
    for id_type, value in found.keys:
        (digest,) = con.execute(
            f"select {key_hash_sql(id_type, 'v')} from (select ? as v)", [value]
        ).fetchone()
        if digest is not None:  # a key that normalises to nothing matches nothing
            keys.add((id_type, digest))
    values = [
        r[0]
        for r in con.execute(
            "select distinct sha256(getvariable('erasure_salt') || v) from unnest(?) t(v)",
            [sorted(found.values)],
        ).fetchall()
    ]
    return sorted(keys), sorted(values)


# --------------------------------------------------------------------------- scanning / scrubbing


def _raw_tables(raw_dir: Path):
    for (system, table), _cols in IDENTIFIER_COLUMNS.items():
        base = raw_dir / system / table
        if base.is_dir():
            yield system, table, sorted(base.rglob("*.parquet"))


def _file_columns(con: duckdb.DuckDBPyConnection, path: Path) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in con.execute(
            "select name, type from parquet_schema(?) "
            "where name <> 'schema' and num_children is null",
            [str(path)],
        ).fetchall()
    ]


def _rewrite_parquet(con: duckdb.DuckDBPyConnection, path: Path, keep_where: str) -> None:
    """Replace a Parquet file by its rows matching `keep_where`: written to a temporary name
    that is never *.parquet (dbt globs those), then renamed over it atomically."""
    tmp = path.with_name(f".erase_{uuid.uuid4().hex[:8]}.parquet.tmp")
    try:
        con.execute(
            f"copy (select * from read_parquet('{path}', hive_partitioning = false) "
            f"where {keep_where}) to '{tmp}' (format parquet, compression zstd)"
        )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def scan_raw(con, raw_dir: Path, *, scrub: bool = False, needles: list[str] | None = None) -> dict:
    """Rows carrying a tombstoned key, per raw table (optionally removed). Quarantine files hold
    unparsed text: with `needles` (raw values, known only while erasing) rows whose text contains
    one are counted/removed too."""
    counts: dict[str, int] = {}
    for system, table, files in _raw_tables(raw_dir):
        total = 0
        for path in files:
            columns = {c for c, _ in _file_columns(con, path)}
            cond = match_sql(system, table, columns)
            if cond is None:
                continue
            n = con.execute(
                f"select count(*) from read_parquet('{path}', hive_partitioning = false) "
                f"where {cond}"
            ).fetchone()[0]
            if n and scrub:
                _rewrite_parquet(con, path, f"not coalesce({cond}, false)")
            total += n
        if total:
            counts[f"raw/{system}/{table}"] = total
    q_dir = raw_dir / "_quarantine"
    if needles and q_dir.is_dir():
        lowered = sorted({n.lower() for n in needles if n and len(n) >= 6})
        cond = "len(list_filter(?, lambda x: contains(lower(raw_text), x))) > 0"
        for path in sorted(q_dir.rglob("*.parquet")):
            n = con.execute(
                f"select count(*) from read_parquet('{path}', hive_partitioning = false) "
                f"where {cond}",
                [lowered],
            ).fetchone()[0]
            if n:
                rel = path.relative_to(raw_dir).parent.parent.as_posix()
                counts[f"raw/{rel}"] = counts.get(f"raw/{rel}", 0) + n
                if scrub:
                    tmp = path.with_name(f".erase_{uuid.uuid4().hex[:8]}.parquet.tmp")
                    con.execute(
                        f"copy (select * from read_parquet('{path}', hive_partitioning = false) "
                        f"where not ({cond})) to '{tmp}' (format parquet)",
                        [lowered],
                    )
                    os.replace(tmp, path)
    return counts


def _value_match(columns: list[str]) -> str:
    # A column matches when it holds an erased string, or that string's salted hash (the `bi`
    # serving schema's form of hashed columns).
    parts = []
    for c in columns:
        v = f"cast({_q(c)} as varchar)"
        parts.append(
            f"({v} in (select hash from erasure_values) "
            f"or sha256(getvariable('erasure_salt') || {v}) in (select hash from erasure_values))"
        )
    return "(" + " or ".join(parts) + ")" if parts else "false"


def scan_warehouse(con, warehouse: Path, *, scrub: bool = False) -> dict:
    counts: dict[str, int] = {}
    if not warehouse.exists():
        return counts
    con.execute(f"attach '{warehouse}' as wh{'' if scrub else ' (read_only)'}")
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = 'wh' and table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in tables:
            cols = [
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_catalog = 'wh' "
                    "and table_schema = ? and table_name = ? and data_type = 'VARCHAR'",
                    [schema, table],
                ).fetchall()
            ]
            if not cols:
                continue
            rel = f"wh.{_q(schema)}.{_q(table)}"
            cond = _value_match(cols)
            n = con.execute(f"select count(*) from {rel} where {cond}").fetchone()[0]
            if n:
                counts[f"warehouse/{schema}.{table}"] = n
                if scrub:
                    con.execute(f"delete from {rel} where {cond}")
        if scrub:
            con.execute("checkpoint wh")
    finally:
        con.execute("detach wh")
    return counts


def _table_files(base: Path) -> list[Path]:
    if not base.is_dir():
        return []
    return sorted(p for p in base.rglob("*") if p.suffix in (".parquet", ".csv") and p.is_file())


def scan_files(con, base: Path, label: str, *, scrub: bool = False) -> dict:
    """Export / serving Parquet and CSV files holding an erased value (or its salted hash)."""
    counts: dict[str, int] = {}
    for path in _table_files(base):
        reader = (
            f"read_parquet('{path}')"
            if path.suffix == ".parquet"
            else f"read_csv('{path}', all_varchar = true, header = true)"
        )
        cols = [r[0] for r in con.execute(f"describe select * from {reader}").fetchall()]
        cond = _value_match(cols)
        n = con.execute(f"select count(*) from {reader} where {cond}").fetchone()[0]
        if n:
            counts[f"{label}/{path.relative_to(base).as_posix()}"] = n
            if scrub:
                tmp = path.with_name(f".erase_{uuid.uuid4().hex[:8]}.tmp")
                fmt = "format parquet" if path.suffix == ".parquet" else "format csv, header true"
                con.execute(f"copy (select * from {reader} where not {cond}) to '{tmp}' ({fmt})")
                os.replace(tmp, path)
    return counts


def _register(con, key_hashes: list[str], value_hashes: list[str]) -> None:
    con.register("erasure_keys", pa.table({"hash": pa.array(key_hashes, pa.string())}))
    con.register("erasure_values", pa.table({"hash": pa.array(value_hashes, pa.string())}))


def locate(con, data_dir: Path, warehouse: Path, *, scrub: bool = False, needles=None) -> dict:
    """Where the registered erasure hashes occur now: raw, warehouse, serving, exports."""
    found = {}
    found.update(scan_raw(con, data_dir / "raw", scrub=scrub, needles=needles))
    found.update(scan_warehouse(con, warehouse, scrub=scrub))
    found.update(scan_files(con, data_dir / "serving" / "snapshots", "serving", scrub=False))
    found.update(scan_files(con, data_dir / "exports", "exports", scrub=scrub))
    return found


# --------------------------------------------------------------------------- commands


@dataclass
class ErasureResult:
    request_id: str
    customers: int
    before: dict
    after: dict
    proof_path: Path

    @property
    def is_gone(self) -> bool:
        return not self.after


def erase(lookup_type: str, value: str, *, republish: bool = True) -> ErasureResult:
    """Tombstone the customer the value resolves to and scrub every copy (see module doc).
    Refused (locks.DataFolderBusy, nothing changed) while a build step writes the data folder:
    a step that read the data before the tombstones existed could write the person back."""
    if lookup_type not in (*LOOKUP_TYPES, "customer_id"):
        raise ValueError(f"cannot erase by {lookup_type!r}")
    if not value or not value.strip():
        raise ValueError("an erasure request needs a non-empty value")
    with locks.exclusive(get_settings().data_dir, "erasure"):
        return _erase(lookup_type, value, republish=republish)


def _erase(lookup_type: str, value: str, *, republish: bool) -> ErasureResult:
    settings = get_settings()
    data_dir = settings.data_dir
    salt = _salt(data_dir)
    request_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    con = _connect(salt)
    try:
        if settings.warehouse_path.exists():
            wh = duckdb.connect(str(settings.warehouse_path), read_only=True)
            try:
                found = resolve(wh, lookup_type, value)
            finally:
                wh.close()
        else:
            found = ErasureSet(keys={(LOOKUP_TYPES.get(lookup_type, "crm_contact_id"), value)})
        if lookup_type == "customer_id" and not found.customers:
            raise ValueError(f"customer {value!r} is not in the warehouse")
        keys, values = _hashes(con, found)
        # Tombstones first: if anything below dies, the next extraction already drops them.
        now = datetime.now(UTC).isoformat(timespec="seconds")
        _append_csv(
            erasure_dir(data_dir) / "tombstones.csv",
            TOMBSTONE_FIELDS,
            [
                dict(request_id=request_id, erased_at=now, kind="key", identifier_type=t, hash=h)
                for t, h in keys
            ]
            + [
                dict(request_id=request_id, erased_at=now, kind="value", identifier_type="", hash=h)
                for h in values
            ],
        )
        _register(con, [h for _, h in keys], values)
        needles = sorted({v for _, v in found.keys} | found.values)
        before = locate(con, data_dir, settings.warehouse_path, scrub=True, needles=needles)
    finally:
        con.close()
    if republish:
        _republish(settings)
    after = prove(request_id)
    proof = {
        "request_id": request_id,
        "requested_at": now,
        "lookup_type": lookup_type,
        "customers": len(found.customers),
        "key_tombstones": len(keys),
        "value_tombstones": len(values),
        "found_before": before,
        "found_after": after,
        "erased": not after,
    }
    proof_path = erasure_dir(data_dir) / "proofs" / f"{request_id}.json"
    proof_path.parent.mkdir(parents=True, exist_ok=True)
    proof_path.write_text(json.dumps(proof, indent=2, sort_keys=True) + "\n")
    lookup_con = _connect(salt)
    (lookup_hash,) = lookup_con.execute(
        f"select {key_hash_sql(LOOKUP_TYPES.get(lookup_type, 'customer_id'), 'v')} "
        "from (select ? as v)",
        [value],
    ).fetchone()
    lookup_con.close()
    _append_csv(
        erasure_dir(data_dir) / "requests.csv",
        REQUEST_FIELDS,
        [
            dict(
                request_id=request_id,
                requested_at=now,
                lookup_type=lookup_type,
                lookup_hash=lookup_hash,
                customers=len(found.customers),
                key_tombstones=len(keys),
                value_tombstones=len(values),
                raw_rows_removed=sum(n for k, n in before.items() if k.startswith("raw/")),
                warehouse_rows_removed=sum(
                    n for k, n in before.items() if k.startswith("warehouse/")
                ),
                export_rows_removed=sum(n for k, n in before.items() if k.startswith("exports/")),
            )
        ],
    )
    return ErasureResult(request_id, len(found.customers), before, after, proof_path)


def _republish(settings) -> None:
    """Serve the scrubbed warehouse and purge every older snapshot (they hold the person)."""
    from orchestration.serving import (
        CATALOGUE_NAME,
        _publish_lock,
        collect_garbage,
        current_build_id,
        publish,
    )

    serving_dir = settings.serving_dir
    if current_build_id(serving_dir) is None or not settings.warehouse_path.exists():
        # Nothing published yet: only stray snapshot folders can exist; drop them.
        shutil.rmtree(serving_dir / "snapshots", ignore_errors=True)
        return
    publish(warehouse_path=settings.warehouse_path, serving_dir=serving_dir, keep=1)
    with _publish_lock(serving_dir):
        collect_garbage(serving_dir, keep=1)
    remaining = [p for p in (serving_dir / "snapshots").iterdir() if (p / CATALOGUE_NAME).exists()]
    if len(remaining) != 1:
        raise RuntimeError(f"old serving snapshots could not be purged: {remaining}")


def requests_for(data_dir: Path, lookup_type: str, value: str) -> list[str]:
    """Request ids whose tombstones include the lookup value (by its key hash)."""
    id_type = LOOKUP_TYPES.get(lookup_type, "crm_contact_id")
    con = _connect(_salt(data_dir))
    try:
        (digest,) = con.execute(
            f"select {key_hash_sql(id_type, 'v')} from (select ? as v)", [value]
        ).fetchone()
        if lookup_type == "customer_id":
            (value_digest,) = con.execute(
                "select sha256(getvariable('erasure_salt') || ?)", [value.strip()]
            ).fetchone()
            return sorted(
                {
                    r["request_id"]
                    for r in read_tombstones(data_dir, "value")
                    if r["hash"] == value_digest
                }
            )
    finally:
        con.close()
    return sorted(
        {r["request_id"] for r in read_tombstones(data_dir, "key") if r["hash"] == digest}
    )


def prove(request_id: str | None = None) -> dict:
    """Where the tombstoned identifiers of one request (all requests when None) occur now."""
    settings = get_settings()
    keys = [r["hash"] for r in read_tombstones(settings.data_dir, "key", request_id)]
    values = [r["hash"] for r in read_tombstones(settings.data_dir, "value", request_id)]
    if request_id and not keys and not values:
        raise ValueError(f"no tombstones for erasure request {request_id!r}")
    con = _connect(_salt(settings.data_dir))
    try:
        _register(con, keys, values)
        return locate(con, settings.data_dir, settings.warehouse_path)
    finally:
        con.close()


def main_erase(args) -> int:
    """`clientbase erase`: the CLI entry point (arguments parsed in orchestration/cli.py)."""
    lookups = [
        (t, getattr(args, t)) for t in ("email", "phone", "card", "customer_id") if getattr(args, t)
    ]
    settings = get_settings()
    if args.prove:
        if args.request_id:
            request_ids = [args.request_id]
        elif lookups:
            request_ids = requests_for(settings.data_dir, *lookups[0])
            if not request_ids:
                print("no erasure request matches that identifier")
                return 1
        else:
            request_ids = sorted({r["request_id"] for r in read_tombstones(settings.data_dir)})
        status = 0
        for request_id in request_ids:
            proof_file = erasure_dir(settings.data_dir) / "proofs" / f"{request_id}.json"
            if proof_file.exists():
                before = json.loads(proof_file.read_text())["found_before"]
                print(f"request {request_id}: the person was in {len(before)} places:")
                for where, n in sorted(before.items()):
                    print(f"    {where}: {n} rows")
            found = prove(request_id)
            if found:
                status = 1
                print(f"request {request_id}: STILL PRESENT in {len(found)} places:")
                for where, n in sorted(found.items()):
                    print(f"    {where}: {n} rows")
            else:
                print(f"request {request_id}: gone from raw, warehouse, serving and exports")
        return status
    if len(lookups) != 1:
        print("give exactly one of --email, --phone, --card, --customer-id")
        return 2
    try:
        result = erase(*lookups[0], republish=not args.no_republish)
    except locks.DataFolderBusy as busy:
        print(busy, file=sys.stderr)
        return 3
    print(
        f"erasure request {result.request_id}: {result.customers} customer(s); removed from "
        f"{len(result.before)} places ({sum(result.before.values())} rows); "
        f"proof: {result.proof_path}"
    )
    for where, n in sorted(result.after.items()):
        print(f"    still present: {where}: {n} rows")
    return 0 if result.is_gone else 1
