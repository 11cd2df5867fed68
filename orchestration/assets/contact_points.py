"""Contact-point checks: validate every distinct raw email and phone with maintained libraries."""

import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import dagster as dg
import duckdb
import email_validator
import pandas as pd
import phonenumbers
import phonenumbers.timezone
import yaml
from disposable_email_domains import blocklist as disposable_domains

from orchestration.assets.extraction import EXTRACTION_GROUP, raw_asset_key
from orchestration.config import DBT_PROJECT_DIR, get_settings


# Where the raw values live: (system, table, column, contact point type). A messaging address is
# an email or a phone depending on the channel, hence the optional filter.
@dataclass(frozen=True)
class RawContactColumn:
    system: str
    table: str
    column: str
    contact_point_type: str
    where: str = "true"
    # An ESP export writes phones as MSISDNs (country code and number, no plus). Staging reads a
    # bare 10-15 digit value that is not a national number as E.164 (normalise_phone with
    # assume_international), so that reading is checked too, as `+<digits>`.
    msisdn: bool = False


RAW_CONTACT_COLUMNS: tuple[RawContactColumn, ...] = (
    RawContactColumn("crm", "contacts", "email", "email"),
    RawContactColumn("crm", "contacts", "phone", "phone"),
    RawContactColumn("shop", "orders", "email", "email"),
    RawContactColumn("shop", "orders", "phone", "phone"),
    RawContactColumn("pos", "receipts", "customer_phone", "phone"),
    RawContactColumn("loyalty", "cards", "email", "email"),
    RawContactColumn("loyalty", "cards", "phone", "phone"),
    RawContactColumn("web", "events", "email", "email"),
    RawContactColumn("messaging", "events", "address", "email", "channel = 'email'"),
    RawContactColumn(
        "messaging", "events", "address", "phone", "channel in ('sms', 'whatsapp')", msisdn=True
    ),
    RawContactColumn("surveys", "responses", "email", "email"),
    RawContactColumn("surveys", "responses", "phone", "phone"),
)

OUTPUT_SYSTEM = "reference"
OUTPUT_TABLE = "contact_point_checks"

# Phones without a country prefix are Russian, as in staging's normalise_phone default.
DEFAULT_PHONE_REGION = "RU"
DEFAULT_PHONE_COUNTRY_CODE = "7"


def national_phone_pattern(country_code: str = DEFAULT_PHONE_COUNTRY_CODE) -> str:
    """The bare numbers staging reads as national numbers of `country_code` before it tries a
    bare number as an MSISDN: the match patterns of that plan's `national_rewrites` in
    dbt_project.yml (vars.phone_numbering_plans, which normalise_phone applies), unanchored."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    plan = project["vars"]["phone_numbering_plans"][country_code]
    return "|".join(pattern.strip("^$") for pattern, _ in plan["national_rewrites"])

# Role mailboxes (RFC 2142 plus the usual shop/newsletter ones): they reach a team or nobody, not
# a person, so marketing mail to them is wasted or flagged as spam. No maintained PyPI list exists
# for these; the disposable-domain check below does use the maintained list.
ROLE_LOCAL_PARTS = frozenset(
    {
        "abuse", "admin", "administrator", "billing", "contact", "contacts", "help", "hello",
        "hostmaster", "info", "mail", "marketing", "news", "newsletter", "no-reply", "noc",
        "noreply", "do-not-reply", "donotreply", "office", "orders", "postmaster", "press",
        "privacy", "reception", "root", "sales", "security", "service", "shop", "support",
        "team", "webmaster", "www",
    }
)  # fmt: skip

OUTPUT_COLUMNS = [
    "value_raw",
    "contact_point_type",
    "normalised",
    "is_valid",
    "reason",
    "is_role",
    "is_disposable",
    "phone_country_code",
    "phone_time_zones",
    "phone_time_zone_count",
    "checked_with",
]


def _as_text(value: bool | int | None) -> str | None:
    # The raw zone is typed-as-text (ARCHITECTURE.md); staging casts.
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_disposable(domain: str) -> bool:
    # The list holds registrable domains; sub-domains of a disposable service count too.
    parts = domain.lower().split(".")
    return any(".".join(parts[i:]) in disposable_domains for i in range(len(parts) - 1))


def check_email(value_raw: str) -> dict[str, str | None]:
    """Syntax (email-validator, no DNS), role mailbox and disposable domain of one raw email."""
    candidate = value_raw.strip()
    try:
        result = email_validator.validate_email(candidate, check_deliverability=False)
    except email_validator.EmailNotValidError as error:
        return {
            "normalised": candidate.lower() or None,
            "is_valid": "false",
            "reason": f"invalid_syntax: {error}",
            "is_role": "false",
            "is_disposable": "false",
        }
    local_part = result.local_part.lower()
    domain = result.ascii_domain.lower()
    is_role = local_part.split("+", 1)[0] in ROLE_LOCAL_PARTS
    is_disposable = _is_disposable(domain)
    flags = (("role_address", is_role), ("disposable_domain", is_disposable))
    reasons = [reason for reason, hit in flags if hit]
    return {
        # Lower-cased whole, as staging's normalise_email does, so the two can be joined.
        "normalised": f"{local_part}@{domain}",
        "is_valid": "true",
        "reason": "|".join(reasons) or "ok",
        "is_role": _as_text(is_role),
        "is_disposable": _as_text(is_disposable),
    }


def _number_key(number: phonenumbers.PhoneNumber) -> tuple:
    # Every field PhoneNumber.__eq__ compares: two spellings with equal keys are one number, and
    # everything check_phone says after parsing is a function of the number alone.
    return (
        number.country_code, number.national_number, number.extension,
        bool(number.italian_leading_zero), number.number_of_leading_zeros, number.raw_input,
        number.country_code_source, number.preferred_domestic_carrier_code,
    )  # fmt: skip


_PHONE_NOT_CHECKED = {"is_role": "false", "is_disposable": "false", "phone_country_code": None,
                      "phone_time_zones": None, "phone_time_zone_count": "0"}  # fmt: skip


def _phone_verdict(number: phonenumbers.PhoneNumber) -> dict:
    """Validity, E.164 form, country and time zones of a parsed number."""
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not phonenumbers.is_valid_number(number):
        reason = phonenumbers.is_possible_number_with_reason(number)
        label = {
            phonenumbers.ValidationResult.TOO_SHORT: "too_short",
            phonenumbers.ValidationResult.TOO_LONG: "too_long",
            phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "invalid_country_code",
            phonenumbers.ValidationResult.INVALID_LENGTH: "invalid_length",
        }.get(reason, "invalid_number")
        return {"normalised": e164, "is_valid": "false", "reason": label, **_PHONE_NOT_CHECKED}
    zones = [z for z in phonenumbers.timezone.time_zones_for_number(number) if z != "Etc/Unknown"]
    return {
        "normalised": e164,
        "is_valid": "true",
        "reason": "ok",
        "is_role": "false",
        "is_disposable": "false",
        "phone_country_code": phonenumbers.region_code_for_number(number),
        "phone_time_zones": "|".join(sorted(zones)) or None,
        "phone_time_zone_count": str(len(zones)),
    }


def check_phone(
    value_raw: str, default_region: str = DEFAULT_PHONE_REGION, verdicts: dict | None = None
) -> dict:
    """Validity, E.164 form, country and time zones (phonenumbers) of one raw phone. `verdicts`:
    a cache by number that the spellings of one number share (the raw value is still parsed)."""
    try:
        number = phonenumbers.parse(value_raw.strip(), default_region)
    except phonenumbers.NumberParseException as error:
        reason = f"not_a_number: {error}"
        return {"normalised": None, "is_valid": "false", "reason": reason, **_PHONE_NOT_CHECKED}
    if verdicts is None:
        return _phone_verdict(number)
    key = _number_key(number)
    if key not in verdicts:
        verdicts[key] = _phone_verdict(number)
    return dict(verdicts[key])


def _raw_folders() -> list[tuple[str, str]]:
    return sorted({(source.system, source.table) for source in RAW_CONTACT_COLUMNS})


def list_raw_files(raw_dir: Path) -> dict[str, tuple[int, int]]:
    """Every raw Parquet file the checks read, as path (relative to raw_dir) -> (size, mtime)."""
    files = {}
    for system, table in _raw_folders():
        for path in sorted((raw_dir / system / table).glob("**/*.parquet")):
            stat = path.stat()
            files[path.relative_to(raw_dir).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return files


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def distinct_raw_values_sql(raw_dir: Path, files: list[str] | None = None) -> str | None:
    """SQL for the distinct (value_raw, contact_point_type) of the given raw files (relative to
    raw_dir; all raw files when None), or None when there is no file to read. Read without
    union_by_name, like dbt's raw views: every raw file of a table has its full column list, and
    reading one footer instead of every file's halves this read on size M."""
    wanted = None if files is None else set(files)
    selects = []
    for source in RAW_CONTACT_COLUMNS:
        paths = [
            path
            for path in sorted((raw_dir / source.system / source.table).glob("**/*.parquet"))
            if wanted is None or path.relative_to(raw_dir).as_posix() in wanted
        ]
        if not paths:
            continue
        listed = "[" + ", ".join(_sql_string(path.as_posix()) for path in paths) + "]"
        column = source.column
        readings = [(column, f"{column} is not null and trim({column}) <> ''")]
        if source.msisdn:
            readings.append(
                (
                    f"'+' || trim({column})",
                    f"regexp_full_match(trim({column}), '[1-9][0-9]{{9,14}}')"
                    f" and not regexp_full_match(trim({column}), '{national_phone_pattern()}')",
                )
            )
        selects.extend(
            f"select {value} as value_raw, '{source.contact_point_type}' as contact_point_type"
            f" from read_parquet({listed}) where {condition} and {source.where}"
            for value, condition in readings
        )
    return " union ".join(selects) if selects else None


def read_distinct_raw_values(raw_dir: Path) -> pd.DataFrame:
    """Distinct (value_raw, contact_point_type) over every raw table that holds emails or phones,
    in the order of the checks file."""
    query = distinct_raw_values_sql(raw_dir)
    if query is None:
        return pd.DataFrame(columns=["value_raw", "contact_point_type"])
    with duckdb.connect() as connection:
        return connection.execute(f"{query} order by contact_point_type, value_raw").df()


def checked_with() -> str:
    """The library versions a check depends on: a result is reused only under the same ones."""
    return (
        f"email-validator {version('email-validator')}; phonenumbers {version('phonenumbers')}; "
        f"disposable-email-domains {version('disposable-email-domains')}"
    )


# Checking costs ~25 µs a value in Python (spellings sharing a verdict); a first build of size L
# checks ~5M values, so from this many values on the work is spread over one process per core
# (spawned, not forked: the parent holds DuckDB's threads). A night's few thousand new values
# stay in this process.
PARALLEL_MIN_VALUES = 50_000
_CHUNK_VALUES = 100_000


def _check_values(pairs: list[tuple[str, str]], libraries: str) -> list[tuple]:
    """Rows in OUTPUT_COLUMNS order (tuples: a tenth of dicts' pickling between processes).

    Each verdict is computed once per chunk: a phone spelling is parsed, but the verdict of its
    number is shared by all its spellings (phonenumbers' validity and time-zone lookups are most
    of a phone's cost; size L has ~2.6M phone spellings of ~0.9M numbers), and an email's by
    every value that differs only in the surrounding whitespace check_email strips first. The
    rows are those of calling the two functions value by value."""
    emails: dict[str, dict] = {}
    numbers: dict[tuple, dict] = {}
    rows = []
    for value_raw, contact_point_type in pairs:
        if contact_point_type == "email":
            candidate = value_raw.strip()
            if candidate not in emails:
                emails[candidate] = check_email(candidate)
            result = dict(emails[candidate])
            result.update(phone_country_code=None, phone_time_zones=None, phone_time_zone_count="0")
        else:
            result = check_phone(value_raw, verdicts=numbers)
        result.update(value_raw=value_raw, contact_point_type=contact_point_type)
        result["checked_with"] = libraries
        rows.append(tuple(result[column] for column in OUTPUT_COLUMNS))
    return rows


# The order in which write_contact_point_checks hands values to build_contact_point_checks: the
# spellings of one contact point next to each other (an email stripped and lower-cased; a
# phone's last ten digits), so that they fall into one chunk and share its verdicts. Only the
# chunking depends on it; the verdicts are keyed exactly.
SPELLING_GROUP_ORDER = (
    "contact_point_type, case when contact_point_type = 'email' then lower(trim(value_raw)) "
    "else right(regexp_replace(value_raw, '[^0-9]', '', 'g'), 10) end, value_raw"
)


def build_contact_point_checks(
    raw_values: pd.DataFrame, workers: int | None = None
) -> pd.DataFrame:
    """One checked row per distinct raw value, as text columns (the raw zone's convention), in
    the order of `raw_values` (SPELLING_GROUP_ORDER makes the most of the chunks' verdicts)."""
    libraries = checked_with()
    values, types = raw_values["value_raw"].tolist(), raw_values["contact_point_type"].tolist()
    pairs = list(zip(values, types, strict=True))
    workers = workers or os.cpu_count() or 1
    if workers < 2 or len(pairs) < PARALLEL_MIN_VALUES:
        rows = _check_values(pairs, libraries)
    else:
        chunks = [pairs[i : i + _CHUNK_VALUES] for i in range(0, len(pairs), _CHUNK_VALUES)]
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            # map keeps the chunks' order, so the rows keep the order of raw_values
            checked = pool.map(_check_values, chunks, [libraries] * len(chunks))
            rows = [row for chunk in checked for row in chunk]
    return pd.DataFrame(rows, columns=OUTPUT_COLUMNS, dtype="object")


def output_path(raw_dir: Path) -> Path:
    return raw_dir / OUTPUT_SYSTEM / OUTPUT_TABLE / "part-0.parquet"


def manifest_path(raw_dir: Path) -> Path:
    # Not *.parquet: dbt's source and the erasure scan read only the checks file beside it.
    return output_path(raw_dir).with_name("_read_files.json")


def _file_stamp(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


def read_manifest(raw_dir: Path) -> dict[str, tuple[int, int]] | None:
    """The raw files the current checks file was made from, or None when that cannot be trusted:
    no manifest, an unreadable one, other library versions, or a checks file that was rewritten
    after it (an erasure scrubs values from it in place)."""
    path, target = manifest_path(raw_dir), output_path(raw_dir)
    if not path.exists() or not target.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
        if manifest["checked_with"] != checked_with() or manifest["checks"] != _file_stamp(target):
            return None
        return {name: tuple(stamp) for name, stamp in manifest["files"].items()}
    except (ValueError, KeyError, TypeError):
        return None


@dataclass(frozen=True)
class ChecksWritten:
    path: Path
    rows: int
    checked_now: int
    # "incremental" (only raw files the last run had not read) or "full" (every raw file)
    mode: str
    files_read: int
    summary: dict[str, int]


def _previous_checks_sql(target: Path) -> str | None:
    """Results of the last run that are still valid, with when they were checked: checked with
    today's library versions. An unreadable file is ignored (everything is checked again), never
    trusted."""
    if not target.exists():
        return None
    columns = ", ".join([*OUTPUT_COLUMNS, "_loaded_at"])
    query = (
        f"select {columns} from read_parquet({_sql_string(target.as_posix())}) "
        f"where checked_with = {_sql_string(checked_with())}"
    )
    try:
        with duckdb.connect() as connection:
            connection.execute(f"select count(*) from ({query})").fetchone()
    except duckdb.Error:
        return None
    return query


def write_contact_point_checks(raw_dir: Path) -> ChecksWritten:
    """Validate the raw contact points and replace the reference file atomically.

    Only values not checked before (with the same library versions) cost the ~25 µs a value of
    the Python libraries. A night reads only the raw files the last run had not read: the
    manifest beside the checks file lists the files (size, mtime) the checks were made from.
    When a listed file changed or vanished (re-extracted, or scrubbed by an erasure), every raw
    file is read again, so a value that left the raw zone leaves the checks too. Either way the
    file holds one row per distinct raw value of the raw zone, ordered by type and value.

    `_loaded_at` says when a row was checked. A night keeps the stamps of the values checked
    before and stamps only the new ones, so staging reads only those
    (stg_hygiene__contact_point_checks is incremental). A full read stamps every row anew: values
    may have left the raw zone, and a checks file whose rows are all newer than staging's tells
    staging to rebuild instead of merging."""
    target = output_path(raw_dir)
    files = list_raw_files(raw_dir)
    known = read_manifest(raw_dir)
    previous = _previous_checks_sql(target)
    incremental = (
        known is not None
        and previous is not None
        and all(files.get(name) == stamp for name, stamp in known.items())
    )
    to_read = sorted(set(files) - set(known)) if incremental else sorted(files)
    key = "value_raw, contact_point_type"
    typed = ", ".join(f"cast({c} as varchar) as {c}" for c in OUTPUT_COLUMNS)
    nothing = (
        "select "
        + ", ".join(f"null as {c}" for c in OUTPUT_COLUMNS)
        + ", cast(null as timestamptz) as _loaded_at where false"
    )
    # All text like the rest of the raw zone, _loaded_at TIMESTAMP WITH TIME ZONE as in every
    # raw table.
    loaded_at = datetime.now(UTC).replace(microsecond=0)
    with duckdb.connect() as connection:
        read = distinct_raw_values_sql(raw_dir, to_read) if to_read else None
        no_values = (
            "select cast(null as varchar) as value_raw, "
            "cast(null as varchar) as contact_point_type where false"
        )
        connection.execute(f"create temp table raw_values as {read or no_values}")
        connection.execute(
            f"create temp table previous as select {typed}, "
            f"cast(_loaded_at as timestamptz) as _loaded_at from ({previous or nothing})"
        )
        unseen = connection.execute(
            f"select {key} from raw_values anti join previous using ({key}) "
            f"order by {SPELLING_GROUP_ORDER}"
        ).df()
        connection.register("fresh", build_contact_point_checks(unseen))
        connection.execute(
            f"create temp table checked as select * from previous "
            f"union all select {typed}, cast(? as timestamptz) as _loaded_at from fresh",
            [loaded_at],
        )
        columns = ", ".join(OUTPUT_COLUMNS)
        if incremental:
            rows = f"select {columns}, _loaded_at from checked"
        else:
            # Only values still in the raw zone: an erased or re-extracted value drops out.
            rows = (
                f"select {columns}, cast(? as timestamptz) as _loaded_at "
                f"from raw_values inner join checked using ({key})"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        # An empty file still has the columns staging expects.
        connection.execute(
            f"copy ({rows} order by contact_point_type, value_raw) "
            f"to {_sql_string(temporary.as_posix())} (format parquet, compression zstd)",
            [] if incremental else [loaded_at],
        )
        summary_row = connection.execute(
            "select count(*), count(*) filter (where contact_point_type = 'email'), "
            "count(*) filter (where contact_point_type = 'phone'), "
            "count(*) filter (where is_valid = 'false'), count(*) filter (where is_role = 'true'), "
            "count(*) filter (where is_disposable = 'true') "
            f"from read_parquet({_sql_string(temporary.as_posix())})"
        ).fetchone()
    temporary.replace(target)
    manifest = {"checked_with": checked_with(), "checks": _file_stamp(target), "files": files}
    staged = manifest_path(raw_dir).with_name(f".{manifest_path(raw_dir).name}.{os.getpid()}.tmp")
    staged.write_text(json.dumps(manifest, sort_keys=True))
    staged.replace(manifest_path(raw_dir))
    names = ("rows", "emails", "phones", "invalid", "role", "disposable")
    summary = dict(zip(names, (int(v) for v in summary_row), strict=True))
    return ChecksWritten(
        path=target,
        rows=summary["rows"],
        checked_now=len(unseen),
        mode="incremental" if incremental else "full",
        files_read=len(to_read),
        summary=summary,
    )


# The key the dbt translator gives source raw.reference__contact_point_checks.
CONTACT_POINT_CHECKS_KEY = raw_asset_key(OUTPUT_SYSTEM, OUTPUT_TABLE)


@dg.asset(
    key=CONTACT_POINT_CHECKS_KEY,
    group_name=EXTRACTION_GROUP,
    # after every raw table it reads (all partitions)
    deps=sorted({raw_asset_key(c.system, c.table) for c in RAW_CONTACT_COLUMNS}, key=str),
    description=(
        "Every distinct raw email and phone checked with email-validator (syntax), the "
        "disposable-email-domains list, a role-mailbox list and phonenumbers (validity, E.164, "
        "country, time zones). Written to raw/reference/contact_point_checks/part-0.parquet "
        "and read by dbt as source raw.reference__contact_point_checks."
    ),
    kinds={"python", "parquet"},
)
def contact_point_checks(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    written = write_contact_point_checks(get_settings().raw_dir)
    context.log.info(
        f"{written.rows} distinct contact points into {written.path} ({written.mode} read of "
        f"{written.files_read} raw files): {written.checked_now} checked now, "
        f"{written.rows - written.checked_now} unchanged since the last run"
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(written.path)),
            "read": written.mode,
            "raw_files_read": written.files_read,
            "checked_now": written.checked_now,
            **written.summary,
        }
    )
