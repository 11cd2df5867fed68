"""Landing-file schema registry: every source table's columns and validation rules, in one place.

Extraction validates against it; the Great Expectations suites and tests import it too, so a
column or a rule changes here (and in ARCHITECTURE.md) and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal[
    "text",  # anything, never a reason to quarantine (names, emails, phones, free text)
    "timestamp",  # ISO 8601 UTC with a Z: 2024-11-01T10:15:00Z (fraction of a second allowed)
    "date",  # YYYY-MM-DD
    "local_timestamp",  # DD.MM.YYYY HH:MM:SS, as tills print it (store local time, no zone)
    "amount",  # a number >= 0 (amounts, prices, points)
    "quantity",  # a number > 0
    "enum",  # one of `values` (compared lower-cased and trimmed)
    "boolean",  # true / false
]
Format = Literal["csv", "jsonl"]

# Shape first (strict: the documented layout, no lenient parsing of "2024-2-3"), then a real
# calendar check with strptime (rejects 2024-02-30).
TIMESTAMP_PATTERN = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z"
TIMESTAMP_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ")
DATE_PATTERN = r"\d{4}-\d{2}-\d{2}"
DATE_FORMATS = ("%Y-%m-%d",)
LOCAL_TIMESTAMP_PATTERN = r"\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2}"
LOCAL_TIMESTAMP_FORMATS = ("%d.%m.%Y %H:%M:%S",)

BOOLEAN_VALUES = ("true", "false")


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = "text"
    required: bool = False
    values: tuple[str, ...] = ()  # the documented values of an enum column

    def __post_init__(self) -> None:
        if self.kind == "enum" and not self.values:
            raise ValueError(f"enum column {self.name} needs its documented values")
        if self.kind == "boolean":
            object.__setattr__(self, "values", BOOLEAN_VALUES)


@dataclass(frozen=True)
class TableSchema:
    system: str
    table: str
    file_name: str
    format: Format
    columns: tuple[Column, ...]
    daily: bool = True  # False: a full snapshot at landing/<system>/<file_name>
    description: str = ""
    _by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {c.name: c for c in self.columns})

    @property
    def key(self) -> str:
        """`<system>__<table>`: the dbt source table name (raw.<key>)."""
        return f"{self.system}__{self.table}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def columns_of_kind(self, *kinds: Kind) -> list[Column]:
        return [c for c in self.columns if c.kind in kinds]

    def column(self, name: str) -> Column:
        return self._by_name[name]


def _c(name: str, kind: Kind = "text", *values: str, required: bool = False) -> Column:
    return Column(name=name, kind=kind, required=required, values=tuple(values))


def _req(name: str, kind: Kind = "text", *values: str) -> Column:
    return _c(name, kind, *values, required=True)


LEAD_SOURCES = ("website_form", "quiz", "vk", "telegram_bot", "offline_store", "loyalty_signup")
WEB_EVENT_TYPES = ("page_view", "product_view", "add_to_cart", "checkout", "login", "identify")
MESSAGING_CHANNELS = ("email", "sms", "whatsapp", "telegram")
MESSAGING_EVENT_TYPES = (
    "sent",
    "delivered",
    "opened",
    "clicked",
    "bounced_hard",
    "bounced_soft",
    "unsubscribed",
    "not_interested",
)
SURVEY_FORMS = ("style_quiz", "birthday_form", "feedback", "reactivation_poll")

TABLES: tuple[TableSchema, ...] = (
    TableSchema(
        "crm",
        "contacts",
        "contacts.csv",
        "csv",
        (
            _req("contact_id"),
            _c("first_name"),
            _c("last_name"),
            _c("first_name_latin"),
            _c("last_name_latin"),
            _c("email"),
            _c("phone"),
            _c("birth_date", "date"),
            _c("gender", "enum", "female", "male"),
            _c("city"),
            _c("country_code"),
            _c("time_zone"),
            _c("lead_source", "enum", *LEAD_SOURCES),
            _c("tags"),
            _c("telegram_id"),
            _c("vk_id"),
            _c("consent_email", "boolean"),
            _c("consent_email_at", "timestamp"),
            _c("consent_sms", "boolean"),
            _c("consent_sms_at", "timestamp"),
            _c("consent_whatsapp", "boolean"),
            _c("consent_whatsapp_at", "timestamp"),
            _c("consent_telegram", "boolean"),
            _c("consent_telegram_at", "timestamp"),
            _req("created_at", "timestamp"),
            _req("updated_at", "timestamp"),
        ),
        description="CRM contacts created or updated that day (latest updated_at wins).",
    ),
    TableSchema(
        "shop",
        "orders",
        "orders.jsonl",
        "jsonl",
        (
            _req("order_id"),
            _req("created_at", "timestamp"),
            _req("updated_at", "timestamp"),
            _c("status", "enum", "completed", "cancelled", "returned"),
            _c("user_id"),
            _c("email"),
            _c("phone"),
            _c("first_name"),
            _c("last_name"),
            _c("promo_code"),
            _c("channel", "enum", "web", "app"),
            _c("currency", "enum", "RUB"),
            _c("subtotal_amount", "amount"),
            _c("discount_amount", "amount"),
            _c("shipping_amount", "amount"),
            _c("total_amount", "amount"),
            _c("anonymous_id"),
        ),
        description="Web-shop orders created or whose status changed that day.",
    ),
    TableSchema(
        "shop",
        "order_lines",
        "order_lines.jsonl",
        "jsonl",
        (
            _req("order_line_id"),
            _req("order_id"),
            _req("product_id"),
            _req("quantity", "quantity"),
            _req("unit_price", "amount"),
            _c("discount_amount", "amount"),
            _req("line_amount", "amount"),
        ),
        description="Lines of the web-shop orders created that day.",
    ),
    TableSchema(
        "pos",
        "receipts",
        "receipts.csv",
        "csv",
        (
            _req("receipt_id"),
            _req("store_id"),
            _c("register_id"),
            _c("cashier_id"),
            _c("loyalty_card_number"),
            _c("customer_phone"),
            _c("receipt_type", "enum", "sale", "return"),
            _req("total_amount", "amount"),
            _c("discount_amount", "amount"),
            _c("payment_method", "enum", "card", "cash", "sbp"),
            _req("created_at_local", "local_timestamp"),
            _c("original_receipt_id"),
        ),
        description="Till receipts of that day (store local time).",
    ),
    TableSchema(
        "pos",
        "receipt_lines",
        "receipt_lines.csv",
        "csv",
        (
            _req("receipt_id"),
            _req("line_number"),
            _req("product_id"),
            _req("quantity", "quantity"),
            _req("unit_price", "amount"),
            _c("discount_amount", "amount"),
            _req("line_amount", "amount"),
        ),
        description="Lines of the till receipts of that day.",
    ),
    TableSchema(
        "loyalty",
        "cards",
        "cards.csv",
        "csv",
        (
            _req("card_number"),
            _c("holder_name"),
            _c("phone"),
            _c("email"),
            _req("issued_at", "timestamp"),
            _c("store_id"),
            _c("points_balance", "amount"),
            _c("status", "enum", "active", "blocked"),
            _req("updated_at", "timestamp"),
        ),
        description="Loyalty cards issued or updated that day.",
    ),
    TableSchema(
        "web",
        "events",
        "events.jsonl",
        "jsonl",
        (
            _req("event_id"),
            _req("event_type", "enum", *WEB_EVENT_TYPES),
            _req("occurred_at", "timestamp"),
            _req("anonymous_id"),
            _c("user_id"),
            _c("email"),
            _c("product_id"),
            _c("page_url"),
            _c("ip_country"),
            _c("ip_time_zone"),
            _c("user_agent"),
        ),
        description="Web tracking events of that day.",
    ),
    TableSchema(
        "messaging",
        "events",
        "events.csv",
        "csv",
        (
            _req("event_id"),
            _req("channel", "enum", *MESSAGING_CHANNELS),
            _req("address"),
            _c("campaign_id"),
            _c("campaign_name"),
            _c("promo_code"),
            _req("event_type", "enum", *MESSAGING_EVENT_TYPES),
            _req("occurred_at", "timestamp"),
            _c("bounce_reason"),
        ),
        description="Campaign events (sent, delivered, opened, bounced...) of that day.",
    ),
    TableSchema(
        "surveys",
        "responses",
        "responses.jsonl",
        "jsonl",
        (
            _req("response_id"),
            _c("form_id", "enum", *SURVEY_FORMS),
            _req("submitted_at", "timestamp"),
            _c("email"),
            _c("phone"),
            _c("name"),
            _c("birthday"),  # free text as typed: staging parses it when unambiguous
            _c("interests"),  # a JSON array, kept as JSON text
            _c("answer"),
        ),
        description="Form and quiz answers of that day.",
    ),
    TableSchema(
        "reference",
        "stores",
        "stores.csv",
        "csv",
        (
            _req("store_id"),
            _c("store_name"),
            _c("city"),
            _c("country_code"),
            _req("time_zone"),
            _c("phone"),
            _c("opened_at", "date"),
        ),
        daily=False,
        description="Store list (full snapshot).",
    ),
    TableSchema(
        "reference",
        "products",
        "products.csv",
        "csv",
        (
            _req("product_id"),
            _c("sku"),
            _c("product_name"),
            _c("category_l1"),
            _c("category_l2"),
            _c("category_l3"),
            _c("brand"),
            _c("price", "amount"),
            _c("currency", "enum", "RUB"),
        ),
        daily=False,
        description="Product catalogue (full snapshot).",
    ),
)

# Column names extraction adds to every raw table.
LINEAGE_COLUMNS = ("_source_file", "_source_line", "_loaded_at")
QUARANTINE_COLUMNS = (
    "system",
    "table",
    "source_file",
    "source_line",
    "raw_text",
    "reason",
    "loaded_at",
)
# The hive partition column dbt sees on daily raw tables (from the folder name, not in the file).
PARTITION_COLUMN = "partition_date"

SYSTEMS: tuple[str, ...] = tuple(dict.fromkeys(t.system for t in TABLES))
DAILY_SYSTEMS: tuple[str, ...] = tuple(dict.fromkeys(t.system for t in TABLES if t.daily))
SNAPSHOT_SYSTEMS: tuple[str, ...] = tuple(dict.fromkeys(t.system for t in TABLES if not t.daily))

_BY_KEY = {(t.system, t.table): t for t in TABLES}


def get_table(system: str, table: str) -> TableSchema:
    try:
        return _BY_KEY[(system, table)]
    except KeyError:
        known = ", ".join(f"{s}/{t}" for s, t in _BY_KEY)
        raise KeyError(f"unknown landing table {system}/{table}; known: {known}") from None


def tables_of(system: str) -> list[TableSchema]:
    found = [t for t in TABLES if t.system == system]
    if not found:
        raise KeyError(f"unknown system {system!r}; known: {', '.join(SYSTEMS)}")
    return found


def iter_tables() -> Iterator[TableSchema]:
    yield from TABLES
