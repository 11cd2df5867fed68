"""Contact-point checks: validate every distinct raw email and phone with maintained libraries."""

import os
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
from disposable_email_domains import blocklist as disposable_domains

from orchestration.assets.extraction import EXTRACTION_GROUP, raw_asset_key
from orchestration.config import get_settings


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
# The national numbers of that plan (macros/normalise/normalise_phone.sql, national_rewrites):
# staging reads these as Russian before it tries a bare number as an MSISDN.
NATIONAL_PHONE_PATTERN = "8[0-9]{10}|7[0-9]{10}|[346-9][0-9]{9}"

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


def check_phone(value_raw: str, default_region: str = DEFAULT_PHONE_REGION) -> dict:
    """Validity, E.164 form, country and time zones (phonenumbers) of one raw phone."""
    empty = {"is_role": "false", "is_disposable": "false", "phone_country_code": None,
             "phone_time_zones": None, "phone_time_zone_count": "0"}  # fmt: skip
    try:
        number = phonenumbers.parse(value_raw.strip(), default_region)
    except phonenumbers.NumberParseException as error:
        reason = f"not_a_number: {error}"
        return {"normalised": None, "is_valid": "false", "reason": reason, **empty}
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not phonenumbers.is_valid_number(number):
        reason = phonenumbers.is_possible_number_with_reason(number)
        label = {
            phonenumbers.ValidationResult.TOO_SHORT: "too_short",
            phonenumbers.ValidationResult.TOO_LONG: "too_long",
            phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "invalid_country_code",
            phonenumbers.ValidationResult.INVALID_LENGTH: "invalid_length",
        }.get(reason, "invalid_number")
        return {"normalised": e164, "is_valid": "false", "reason": label, **empty}
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


def read_distinct_raw_values(raw_dir: Path) -> pd.DataFrame:
    """Distinct (value_raw, contact_point_type) over every raw table that holds emails or phones.
    Read without union_by_name, like dbt's raw views: every raw file of a table has its full
    column list, and reading one footer instead of every file's halves this read on size M."""
    selects = []
    for source in RAW_CONTACT_COLUMNS:
        folder = raw_dir / source.system / source.table
        if not any(folder.glob("**/*.parquet")):
            continue
        glob = (folder / "**" / "*.parquet").as_posix().replace("'", "''")
        column = source.column
        readings = [(column, f"{column} is not null and trim({column}) <> ''")]
        if source.msisdn:
            readings.append((
                f"'+' || trim({column})",
                f"regexp_full_match(trim({column}), '[1-9][0-9]{{9,14}}')"
                f" and not regexp_full_match(trim({column}), '{NATIONAL_PHONE_PATTERN}')",
            ))
        selects.extend(
            f"select {value} as value_raw, '{source.contact_point_type}' as contact_point_type"
            f" from read_parquet('{glob}') where {condition} and {source.where}"
            for value, condition in readings
        )
    if not selects:
        return pd.DataFrame(columns=["value_raw", "contact_point_type"])
    query = " union ".join(selects) + " order by contact_point_type, value_raw"
    with duckdb.connect() as connection:
        return connection.execute(query).df()


def checked_with() -> str:
    """The library versions a check depends on: a result is reused only under the same ones."""
    return (
        f"email-validator {version('email-validator')}; phonenumbers {version('phonenumbers')}; "
        f"disposable-email-domains {version('disposable-email-domains')}"
    )


def build_contact_point_checks(raw_values: pd.DataFrame) -> pd.DataFrame:
    """One checked row per distinct raw value, as text columns (the raw zone's convention)."""
    libraries = checked_with()
    rows = []
    for value_raw, contact_point_type in raw_values.itertuples(index=False):
        if contact_point_type == "email":
            result = check_email(value_raw)
            result.update(phone_country_code=None, phone_time_zones=None, phone_time_zone_count="0")
        else:
            result = check_phone(value_raw)
        rows.append({"value_raw": value_raw, "contact_point_type": contact_point_type, **result,
                     "checked_with": libraries})  # fmt: skip
    return pd.DataFrame(rows, columns=OUTPUT_COLUMNS, dtype="object")


def _none_for_missing(frame: pd.DataFrame) -> pd.DataFrame:
    # text columns hold None for a missing value, as build_contact_point_checks makes them
    return frame.astype(object).where(frame.notna(), None)


def read_previous_checks(path: Path) -> pd.DataFrame:
    """Results of the last run that are still valid: checked with today's library versions.
    An unreadable file is ignored (everything is checked again), never trusted."""
    empty = pd.DataFrame(columns=OUTPUT_COLUMNS, dtype="object")
    if not path.exists():
        return empty
    try:
        previous = pd.read_parquet(path, columns=OUTPUT_COLUMNS)
    except Exception:  # noqa: BLE001 - a damaged cache only costs a full re-check
        return empty
    previous = _none_for_missing(previous)
    return previous[previous["checked_with"] == checked_with()].reset_index(drop=True)


def update_contact_point_checks(
    raw_values: pd.DataFrame, previous: pd.DataFrame
) -> tuple[pd.DataFrame, int]:
    """Checks of `raw_values`, reusing `previous` results and checking only values not seen
    before: the same rows as `build_contact_point_checks(raw_values)`, in the same order. A value
    no longer in the raw zone (erased, or its files re-extracted without it) drops out.
    Returns the checks and how many values were checked anew."""
    key = ["value_raw", "contact_point_type"]
    known = raw_values.merge(previous[key], on=key, how="left", indicator=True)
    unseen = known.loc[known["_merge"] == "left_only", key].reset_index(drop=True)
    fresh = build_contact_point_checks(unseen)
    combined = pd.concat([previous, fresh], ignore_index=True) if len(previous) else fresh
    checks = raw_values.merge(combined, on=key, how="left")[OUTPUT_COLUMNS]
    return _none_for_missing(checks), len(unseen)


def output_path(raw_dir: Path) -> Path:
    return raw_dir / OUTPUT_SYSTEM / OUTPUT_TABLE / "part-0.parquet"


def write_contact_point_checks(raw_dir: Path) -> tuple[Path, pd.DataFrame, int]:
    """Validate all raw contact points and replace the reference file atomically. Values the
    previous file already holds (same library versions) are not checked again: on a night only
    the new addresses cost the ~15 µs a value of the Python libraries. Returns the file, the
    checks and how many values were checked now."""
    target = output_path(raw_dir)
    checks, checked = update_contact_point_checks(
        read_distinct_raw_values(raw_dir), read_previous_checks(target)
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    # All-text schema even for an empty frame, so dbt's view has the columns staging expects;
    # _loaded_at is TIMESTAMP WITH TIME ZONE as in every raw table.
    written = checks.astype("string")
    written["_loaded_at"] = pd.Timestamp(datetime.now(UTC)).floor("s")
    written.to_parquet(temporary, index=False)
    temporary.replace(target)
    return target, checks, checked


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
    target, checks, checked = write_contact_point_checks(get_settings().raw_dir)
    invalid = checks["is_valid"].eq("false")
    by_type = checks.groupby("contact_point_type").size().to_dict()
    context.log.info(
        f"{len(checks)} distinct contact points into {target}: {checked} checked now, "
        f"{len(checks) - checked} unchanged since the last run"
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(target)),
            "rows": len(checks),
            "checked_now": checked,
            "emails": int(by_type.get("email", 0)),
            "phones": int(by_type.get("phone", 0)),
            "invalid": int(invalid.sum()),
            "role": int(checks["is_role"].eq("true").sum()),
            "disposable": int(checks["is_disposable"].eq("true").sum()),
        }
    )
