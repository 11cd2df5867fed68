"""Audience exports for email/SMS tools: pick customers by RFM segment, lifecycle stage, sleeping
status or a safe filter expression, keep only those sendable on the channel, write CSV/Parquet.

Custom filters are a small language, never SQL: ``column op value`` joined with ``and`` / ``or`` /
``not`` and parentheses, where ``op`` is one of ``= != < <= > >= in, not in, like, is null,
is not null``. Columns must be on the allow-list (the audience's non-PII columns) and every value
is bound as a query parameter, so a filter cannot reach anything the audience doesn't show.

    clientbase-export --name winback --channel email --segment "at risk" \\
        --filter "monetary >= 5000 and city in ('Moscow', 'Kazan')" --promo-code WINBACK10
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyparsing as pp

from orchestration.config import get_settings
from orchestration.serving import connect_read_only, pii_action

log = logging.getLogger(__name__)

CHANNELS = ("email", "sms", "whatsapp", "telegram")
FORMATS = ("csv", "parquet")
MART_SCHEMA = "marts"

# Column names the sales and hygiene marts publish (ARCHITECTURE.md). Kept in one place so a
# rename in a mart is a one-line change here.
SENDABLE_MART = "sendable_audience"
RFM_MART, LIFECYCLE_MART, TRAITS_MART, CONTACTS_MART = (
    "customer_rfm",
    "customer_lifecycle",
    "customer_traits",
    "dim_customers",
)
# customer_rfm carries the segment slug (at_risk) and its display name (At Risk); either works.
SEGMENT_COLUMNS = ("segment", "segment_name")
LIFECYCLE_COLUMN = "lifecycle_stage"
SLEEPING_COLUMN = "is_sleeping"

MAX_FILTER_LENGTH = 2000
MAX_CONDITIONS = 50
MAX_NESTING = 10


class FilterError(ValueError):
    """A custom filter was rejected; the message says why, in terms a marketer understands."""


class ExportError(RuntimeError):
    """The export cannot run (missing mart, unknown channel, ...)."""


# ---------------------------------------------------------------------------------------------
# Filter language
# ---------------------------------------------------------------------------------------------

_COMPARISONS = {"=": "=", "==": "=", "!=": "<>", "<>": "<>", "<": "<", "<=": "<=", ">": ">",
                ">=": ">="}  # fmt: skip


def _build_grammar() -> pp.ParserElement:
    kw = pp.CaselessKeyword
    AND, OR, NOT, IN, IS, NULL, LIKE, TRUE, FALSE = (
        kw(w) for w in ("and", "or", "not", "in", "is", "null", "like", "true", "false")
    )
    reserved = AND | OR | NOT | IN | IS | NULL | LIKE | TRUE | FALSE
    column = (~reserved + pp.Word(pp.alphas + "_", pp.alphanums + "_")).set_name("column")
    string = pp.QuotedString("'", esc_quote="''").set_parse_action(lambda t: ("str", t[0]))
    number = pp.Regex(r"[+-]?\d+(\.\d+)?").set_parse_action(
        lambda t: ("num", float(t[0]) if "." in t[0] else int(t[0]))
    )
    boolean = (TRUE | FALSE).set_parse_action(lambda t: ("bool", t[0].lower() == "true"))
    value = (string | number | boolean).set_name("value (a 'quoted text', a number, true/false)")
    op = pp.one_of(list(_COMPARISONS)).set_name("comparison operator")
    values = pp.Suppress("(") + pp.DelimitedList(value) + pp.Suppress(")")

    comparison = (column + op + value).set_parse_action(lambda t: ("cmp", t[0], t[1], t[2]))
    membership = (
        column + pp.Opt(NOT)("negated") + IN + pp.Group(values)("values")
    ).set_parse_action(lambda t: ("in", t[0], bool(t.get("negated")), list(t["values"])))
    null_test = (column + IS + pp.Opt(NOT)("negated") + NULL).set_parse_action(
        lambda t: ("null", t[0], bool(t.get("negated")))
    )
    like = (column + pp.Opt(NOT)("negated") + LIKE + string).set_parse_action(
        lambda t: ("like", t[0], bool(t.get("negated")), t[-1])
    )
    # A bare true/false column: `is_vip and not is_sleeping`.
    flag = column.copy().set_parse_action(lambda t: ("cmp", t[0], "=", ("bool", True)))
    condition = membership | null_test | like | comparison | flag
    return pp.infix_notation(
        condition,
        [
            (NOT, 1, pp.OpAssoc.RIGHT, lambda t: ("not", t[0][1])),
            (AND, 2, pp.OpAssoc.LEFT, lambda t: ("and", list(t[0][0::2]))),
            (OR, 2, pp.OpAssoc.LEFT, lambda t: ("or", list(t[0][0::2]))),
        ],
    )


_GRAMMAR = _build_grammar()


def _nesting_depth(text: str) -> int:
    depth = deepest = 0
    in_string = False
    for char in text:
        if char == "'":
            in_string = not in_string
        elif not in_string and char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif not in_string and char == ")":
            depth -= 1
    return deepest


def parse_filter(text: str) -> tuple:
    """Parse a filter into a small tree; raise FilterError with the position of the problem."""
    if not isinstance(text, str) or not text.strip():
        raise FilterError("the filter is empty")
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterError(f"the filter is longer than {MAX_FILTER_LENGTH} characters")
    if any(ord(c) < 32 and c not in "\t\n\r" for c in text) or "\x00" in text:
        raise FilterError("the filter contains control characters")
    if _nesting_depth(text) > MAX_NESTING:
        raise FilterError(f"the filter nests parentheses deeper than {MAX_NESTING}")
    try:
        tree = _GRAMMAR.parse_string(text, parse_all=True)[0]
    except pp.ParseBaseException as error:
        raise FilterError(
            f"cannot read the filter at character {error.loc + 1} "
            f"(near {text[error.loc : error.loc + 20]!r}): expected a condition like "
            "column = 'text', column >= 10, column in ('a', 'b'), column is null, "
            "joined with and / or"
        ) from None
    except RecursionError:
        raise FilterError("the filter is nested too deeply") from None
    if _count_conditions(tree) > MAX_CONDITIONS:
        raise FilterError(f"the filter has more than {MAX_CONDITIONS} conditions")
    return tree


def _count_conditions(node) -> int:
    while isinstance(node, pp.ParseResults) and len(node) == 1:
        node = node[0]
    if node[0] in ("and", "or"):
        return sum(_count_conditions(child) for child in node[1])
    if node[0] == "not":
        return _count_conditions(node[1])
    return 1


def _kind(data_type: str) -> str:
    t = data_type.upper()
    if t == "BOOLEAN":
        return "bool"
    if any(k in t for k in ("INT", "DECIMAL", "DOUBLE", "FLOAT", "REAL", "NUMERIC")):
        return "num"
    if t.startswith("TIMESTAMP") or t == "DATE":
        return "date"
    if t in ("VARCHAR", "TEXT") or t.startswith("VARCHAR"):
        return "str"
    return "other"


def _bind(column: str, kind: str, value: tuple) -> tuple[str, object]:
    """SQL placeholder (with a cast where needed) and the parameter for one literal."""
    value_kind, raw = value
    if kind == "date":
        if value_kind != "str":
            raise FilterError(f"{column} is a date: compare it with a 'YYYY-MM-DD' text")
        try:
            parsed = date.fromisoformat(raw[:10])
        except ValueError:
            raise FilterError(f"{raw!r} is not a date in the form 'YYYY-MM-DD'") from None
        return "cast(? as date)", parsed
    if kind != "other" and value_kind != kind:
        wanted = {"num": "a number", "str": "a 'quoted text'", "bool": "true or false"}[kind]
        raise FilterError(f"{column} holds {wanted}, not {raw!r}")
    return "?", raw


def compile_filter(text: str, allowed: dict[str, str]) -> tuple[str, list]:
    """Turn a filter into a SQL boolean expression with ``?`` placeholders, plus the parameters.

    ``allowed`` maps column name -> DuckDB type; only these columns may appear. Identifiers in
    the output come from ``allowed``, never from the filter text.
    """
    tree = parse_filter(text)
    params: list = []
    canonical = {name.lower(): name for name in allowed}

    def column(name: str) -> tuple[str, str]:
        key = canonical.get(name.lower())
        if key is None:
            raise FilterError(
                f"unknown column {name!r}; filters may use: {', '.join(sorted(allowed))}"
            )
        return '"' + key.replace('"', '""') + '"', _kind(allowed[key])

    def render(node) -> str:
        # Parenthesised groups come back wrapped in a one-element ParseResults.
        while isinstance(node, pp.ParseResults) and len(node) == 1:
            node = node[0]
        tag = node[0]
        if tag in ("and", "or"):
            return "(" + f" {tag} ".join(render(child) for child in node[1]) + ")"
        if tag == "not":
            return f"(not {render(node[1])})"
        quoted, kind = column(node[1])
        if tag == "cmp":
            placeholder, param = _bind(node[1], kind, node[3])
            params.append(param)
            return f"({quoted} {_COMPARISONS[node[2]]} {placeholder})"
        if tag == "in":
            placeholders = []
            for value in node[3]:
                placeholder, param = _bind(node[1], kind, value)
                placeholders.append(placeholder)
                params.append(param)
            negation = "not " if node[2] else ""
            return f"({quoted} {negation}in ({', '.join(placeholders)}))"
        if tag == "null":
            return f"({quoted} is {'not ' if node[2] else ''}null)"
        if tag == "like":
            if kind != "str":
                raise FilterError(f"like only works on text columns, not on {node[1]}")
            params.append(node[3][1])
            return f"({quoted} {'not ' if node[2] else ''}like ?)"
        raise FilterError(f"unsupported condition {tag}")  # unreachable with the grammar above

    return render(tree), params


# ---------------------------------------------------------------------------------------------
# Audiences
# ---------------------------------------------------------------------------------------------


@dataclass
class AudienceSpec:
    name: str
    channel: str
    rfm_segment: str | None = None
    lifecycle_stage: str | None = None
    sleeping: bool = False
    filter: str | None = None
    # Multi-step campaigns: drop who already redeemed the campaign's code / said no to it.
    promo_code: str | None = None
    campaign_id: str | None = None
    file_format: str = "csv"
    tags: Sequence[str] = ()

    def validate(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,63}", self.name or ""):
            raise ExportError(
                f"audience name {self.name!r}: use letters, digits, '-' and '_' (it names a file)"
            )
        if self.channel not in CHANNELS:
            raise ExportError(f"channel {self.channel!r} is not one of {', '.join(CHANNELS)}")
        if self.file_format not in FORMATS:
            raise ExportError(f"format {self.file_format!r} is not one of {', '.join(FORMATS)}")


@dataclass
class ExportResult:
    path: Path
    rows: int
    columns: list[str]
    excluded: dict[str, int] = field(default_factory=dict)

    def as_metadata(self) -> dict:
        return {"path": str(self.path), "rows": self.rows, "columns": self.columns,
                **{f"excluded_{k}": v for k, v in self.excluded.items()}}  # fmt: skip


# Column layouts the tools import without mapping. Mailchimp's CSV import recognises
# "Email Address", "First Name", "Last Name" and a comma-separated "Tags" column; extra columns
# become merge fields. SMS gateways (SMS.ru, Twilio-style bulk uploads) take a phone column in
# E.164 plus free-form fields.
LAYOUTS = {
    "email": [
        ("Email Address", "contact_point"),
        ("First Name", "first_name"),
        ("Last Name", "last_name"),
        ("Tags", "tags"),
        ("Send Hour Local", "send_hour_local"),
        ("Time Zone", "time_zone"),
    ],
    "sms": [
        ("phone", "contact_point"),
        ("name", "display_name"),
        ("send_hour_local", "send_hour_local"),
        ("time_zone", "time_zone"),
    ],
    "whatsapp": [
        ("phone", "contact_point"),
        ("name", "display_name"),
        ("send_hour_local", "send_hour_local"),
        ("time_zone", "time_zone"),
    ],
    "telegram": [
        ("telegram_id", "contact_point"),
        ("name", "display_name"),
        ("send_hour_local", "send_hour_local"),
        ("time_zone", "time_zone"),
    ],
}


# What the nightly run exports when no audience file is configured: the standing audiences a
# retailer's CRM team mails every week. CLIENTBASE_AUDIENCES_FILE (YAML, a list of mappings with
# the AudienceSpec fields) replaces them.
AUDIENCES_ENV = "CLIENTBASE_AUDIENCES_FILE"
DEFAULT_AUDIENCES = [
    AudienceSpec(name="champions", channel="email", rfm_segment="champions", tags=("vip",)),
    AudienceSpec(name="at-risk-winback", channel="email", rfm_segment="at_risk"),
    AudienceSpec(name="sleeping", channel="sms", sleeping=True),
    AudienceSpec(name="one-time-second-order", channel="email", lifecycle_stage="one_time"),
]


def load_audiences(path: Path | None = None) -> list[AudienceSpec]:
    """Audience definitions from YAML (CLIENTBASE_AUDIENCES_FILE), else the defaults above."""
    path = path or (Path(os.environ[AUDIENCES_ENV]) if os.environ.get(AUDIENCES_ENV) else None)
    if path is None:
        return list(DEFAULT_AUDIENCES)
    import yaml  # dbt's dependency; only needed when a file is configured

    entries = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    if not isinstance(entries, list):
        raise ExportError(f"{path}: expected a list of audiences")
    known = set(AudienceSpec.__dataclass_fields__)
    specs = []
    for entry in entries:
        unknown = set(entry) - known
        if unknown:
            raise ExportError(f"{path}: unknown audience fields {sorted(unknown)}")
        spec = AudienceSpec(**entry)
        spec.validate()
        specs.append(spec)
    return specs


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [MART_SCHEMA, table],
    ).fetchall()
    return dict(rows)


def _is_pii(column: str) -> bool:
    return pii_action(column) is not None


# Where each channel's address lives when a mart keeps one column per kind of address.
_ADDRESS_COLUMNS = {
    "email": ("email",),
    "sms": ("phone",),
    "whatsapp": ("phone",),
    "telegram": ("telegram_id",),
}


def _pick(columns: dict[str, str], *candidates: str) -> str | None:
    return next((c for c in candidates if c in columns), None)


def _sendable_sql(con: duckdb.DuckDBPyConnection, channel: str) -> tuple[str, list]:
    """Customers sendable on ``channel``, one row each: customer_id, contact_point,
    send_hour_local, time_zone (plus the query's parameters).

    Reads hygiene's ``sendable_audience`` (one row per customer and sendable channel), or, where
    only ``contact_hygiene`` exists, its ``is_sendable_<channel>`` flags and address columns.
    """
    for mart in (SENDABLE_MART, "contact_hygiene"):
        columns = _columns(con, mart)
        if not columns:
            continue
        hour = _pick(columns, "send_hour_local", "best_send_hour_local", "local_send_hour")
        zone = _pick(columns, "time_zone", "current_time_zone", "send_time_zone")
        params: list = []
        if "channel" in columns:
            address = _pick(
                columns, "contact_point", "address", "contact_address", *_ADDRESS_COLUMNS[channel]
            )
            where = "channel = ?"
            params.append(channel)
            flag = _pick(columns, "is_sendable")
            if flag:
                where += f" and {flag}"
        else:
            address = _pick(columns, f"{channel}_address", *_ADDRESS_COLUMNS[channel])
            where = _pick(columns, f"is_sendable_{channel}", f"is_{channel}_sendable")
        missing = [
            what
            for what, column in (
                ("customer_id", _pick(columns, "customer_id")),
                ("address", address),
                ("send hour", hour),
                ("time zone", zone),
                ("sendable flag", where),
            )
            if column is None
        ]
        if missing:
            raise ExportError(
                f"{MART_SCHEMA}.{mart} has no {', '.join(missing)} column for channel {channel}"
            )
        return (
            f"select customer_id, {_quote(address)} as contact_point, "
            f"{_quote(hour)} as send_hour_local, {_quote(zone)} as time_zone "
            f"from {MART_SCHEMA}.{mart} where {where} and {_quote(address)} is not null",
            params,
        )
    raise ExportError(
        f"neither {MART_SCHEMA}.{SENDABLE_MART} nor {MART_SCHEMA}.contact_hygiene exists: "
        "run the hygiene models first"
    )


# Marts whose columns describe a customer, in the order a column name is taken from (the first
# mart that has it wins). dim_customers adds city, country, gender, time zone and consents.
_ATTRIBUTE_MARTS = (
    ("rfm", RFM_MART),
    ("lc", LIFECYCLE_MART),
    ("tr", TRAITS_MART),
    ("dc", CONTACTS_MART),
)


def audience_columns(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The columns a filter may use: the non-PII columns of the customer marts."""
    allowed: dict[str, str] = {}
    for _alias, mart in _ATTRIBUTE_MARTS:
        for name, data_type in _columns(con, mart).items():
            if name not in allowed and not _is_pii(name) and not name.startswith("_"):
                allowed[name] = data_type
    return allowed


def _attributes_sql(con: duckdb.DuckDBPyConnection, allowed: dict[str, str]) -> str:
    """One row per customer with every allowed column (plus the names for the export file),
    joined from the marts that exist."""
    parts, taken, joins = [], set(), []
    for alias, mart in _ATTRIBUTE_MARTS:
        columns = _columns(con, mart)
        if not columns:
            continue
        joins.append((alias, mart, columns))
        for name in columns:
            if name in allowed and name not in taken and name != "customer_id":
                parts.append(f"{alias}.{_quote(name)}")
                taken.add(name)
    # Who the attributes cover: customers of the RFM/lifecycle/traits marts (lifecycle has every
    # known customer, prospects included).
    customer_marts = [mart for alias, mart, _ in joins if alias != "dc"]
    if not customer_marts:
        raise ExportError("none of customer_rfm, customer_lifecycle, customer_traits exists yet")
    contacts = next((columns for alias, _, columns in joins if alias == "dc"), {})
    select = ["ids.customer_id"] + parts
    for name in ("first_name", "last_name"):
        select.append(f"dc.{name}" if name in contacts else f"cast(null as varchar) as {name}")
    unions = " union ".join(f"select customer_id from {MART_SCHEMA}.{m}" for m in customer_marts)
    sql = f"select {', '.join(select)} from ({unions}) ids"
    for alias, mart, _ in joins:
        sql += f" left join {MART_SCHEMA}.{mart} {alias} on {alias}.customer_id = ids.customer_id"
    return sql


def _exclusions_sql(con, spec: AudienceSpec) -> list[tuple[str, str, list]]:
    """(reason, subquery of customer_id, parameters) for multi-step campaign exclusions."""
    exclusions = []
    if spec.promo_code:
        exclusions.append(
            (
                "used_promo_code",
                f"select customer_id from {MART_SCHEMA}.fct_orders "
                "where upper(promo_code) = upper(?) and not is_cancelled "
                "and customer_id is not null",
                [spec.promo_code.strip()],
            )
        )
    if spec.campaign_id:
        # Who answered "not interested" to this campaign on any channel, resolved to customers
        # through the identity graph (hygiene only blocks the channel the answer came from).
        for relation in ("staging.stg_messaging__events", "intermediate.int_identifiers_resolved"):
            schema, table = relation.split(".")
            found = con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = ?",
                [schema, table],
            ).fetchone()[0]
            if not found:
                raise ExportError(f"{relation} is missing: cannot tell who said 'not interested'")
        exclusions.append(
            (
                "not_interested",
                "select ids.customer_id "
                "from staging.stg_messaging__events ev "
                "join intermediate.int_identifiers_resolved ids "
                "on (ids.identifier_type = 'email' and ids.identifier_value = ev.email) "
                "or (ids.identifier_type = 'phone' and ids.identifier_value = ev.phone) "
                "or (ids.identifier_type = 'telegram_id' "
                "and ids.identifier_value = ev.telegram_id) "
                "where ev.event_type = 'not_interested' and ev.campaign_id = ? "
                "and ids.customer_id is not null",
                [spec.campaign_id],
            )
        )
    return exclusions


def build_query(con: duckdb.DuckDBPyConnection, spec: AudienceSpec) -> tuple[str, list]:
    """The audience query and its parameters (exposed for tests and for `--explain`)."""
    spec.validate()
    allowed = audience_columns(con)
    sendable, params = _sendable_sql(con, spec.channel)
    conditions = []
    if spec.rfm_segment:
        present = [c for c in SEGMENT_COLUMNS if c in allowed]
        if not present:
            raise ExportError(f"{RFM_MART} has none of the columns {SEGMENT_COLUMNS}")
        # "At Risk", "at risk" and "at_risk" all name the same segment.
        wanted = re.sub(r"[\s\-]+", "_", spec.rfm_segment.strip().lower())
        conditions.append(
            "("
            + " or ".join(
                f"regexp_replace(lower(a.{c}), '[\\s\\-]+', '_', 'g') = ?" for c in present
            )
            + ")"
        )
        params += [wanted] * len(present)
    if spec.lifecycle_stage:
        if LIFECYCLE_COLUMN not in allowed:
            raise ExportError(f"{LIFECYCLE_MART}.{LIFECYCLE_COLUMN} is missing")
        conditions.append(f"lower(a.{LIFECYCLE_COLUMN}) = lower(?)")
        params.append(spec.lifecycle_stage)
    if spec.sleeping:
        if SLEEPING_COLUMN not in allowed:
            raise ExportError(f"{RFM_MART}.{SLEEPING_COLUMN} is missing")
        conditions.append(f"a.{SLEEPING_COLUMN}")
    # An empty filter given on purpose is most likely a template that failed to fill in:
    # refusing beats mailing everybody.
    if spec.filter is not None:
        expression, filter_params = compile_filter(spec.filter, allowed)
        # Qualify nothing: the filter runs over the `a` columns only, as a derived table.
        conditions.append(
            f"a.customer_id in (select customer_id from attributes where {expression})"
        )
        params += filter_params
    for _reason, subquery, exclusion_params in _exclusions_sql(con, spec):
        conditions.append(f"s.customer_id not in ({subquery})")
        params += exclusion_params
    tag_list = ["clientbase", *spec.tags]
    if spec.rfm_segment:
        tag_list.append(f"rfm:{spec.rfm_segment}")
    if spec.lifecycle_stage:
        tag_list.append(f"lifecycle:{spec.lifecycle_stage}")
    if spec.sleeping:
        tag_list.append("sleeping")
    tags = ",".join(t.replace(",", " ") for t in tag_list)
    where = " and ".join(conditions) or "true"
    sql = f"""
        with sendable as ({sendable}),
        attributes as ({_attributes_sql(con, allowed)}),
        selected as (
            select s.customer_id, s.contact_point, s.send_hour_local, s.time_zone,
                   a.first_name, a.last_name
            from sendable s
            join attributes a on a.customer_id = s.customer_id
            where {where}
        )
        select customer_id, contact_point, first_name, last_name,
               trim(concat_ws(' ', first_name, last_name)) as display_name,
               ? as tags, cast(send_hour_local as integer) as send_hour_local, time_zone
        from selected
        order by customer_id
    """
    # The sendable CTE's placeholder comes first in the text, the tags placeholder last.
    return sql, params + [tags]


def export_audience(
    spec: AudienceSpec,
    *,
    warehouse_path: Path | None = None,
    out_dir: Path | None = None,
    as_of: date | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> ExportResult:
    """Write one audience file; returns where, how many rows, and how many were excluded why."""
    spec.validate()
    settings = get_settings()
    out_dir = Path(out_dir or settings.exports_dir)
    as_of = as_of or datetime.now(UTC).date()
    own = con is None
    con = con or connect_read_only(Path(warehouse_path or settings.warehouse_path))
    try:
        sql, params = build_query(con, spec)
        frame = con.execute(sql, params).df()
        # How many sendable customers each campaign rule removed (before the other selectors).
        sendable, sendable_params = _sendable_sql(con, spec.channel)
        excluded = {
            reason: con.execute(
                f"select count(*) from ({sendable}) s where s.customer_id in ({subquery})",
                [*sendable_params, *exclusion_params],
            ).fetchone()[0]
            for reason, subquery, exclusion_params in _exclusions_sql(con, spec)
        }
    finally:
        if own:
            con.close()
    layout = LAYOUTS[spec.channel]
    output = frame[[source for _, source in layout]].copy()
    output.columns = [header for header, _ in layout]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{spec.name}-{spec.channel}-{as_of:%Y%m%d}.{spec.file_format}"
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}")
    # Write then rename: the marketing tool's watcher never picks up half a file.
    if spec.file_format == "csv":
        output.to_csv(temp, index=False, encoding="utf-8")
    else:
        output.to_parquet(temp, index=False)
    os.replace(temp, path)
    log.info("exported %d %s contacts to %s", len(output), spec.channel, path)
    return ExportResult(path, len(output), list(output.columns), excluded)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="clientbase-export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", help="audience name (used in the file name)")
    parser.add_argument("--channel", choices=CHANNELS)
    parser.add_argument("--segment", help="RFM segment, e.g. 'at risk'")
    parser.add_argument("--lifecycle", help="lifecycle stage, e.g. one_time")
    parser.add_argument("--sleeping", action="store_true", help="customers past their cycle")
    parser.add_argument("--filter", help='filter expression, e.g. "monetary >= 5000"')
    parser.add_argument("--promo-code", help="exclude who already used this code")
    parser.add_argument("--campaign-id", help="exclude who answered 'not interested' to it")
    parser.add_argument("--format", default="csv", choices=FORMATS)
    parser.add_argument("--out-dir", type=Path)
    parser.add_argument("--list-columns", action="store_true", help="print filterable columns")
    args = parser.parse_args(argv)
    if not args.list_columns and not (args.name and args.channel):
        parser.error("--name and --channel are required (or use --list-columns)")
    spec = AudienceSpec(
        name=args.name, channel=args.channel, rfm_segment=args.segment,
        lifecycle_stage=args.lifecycle, sleeping=args.sleeping, filter=args.filter,
        promo_code=args.promo_code, campaign_id=args.campaign_id, file_format=args.format,
    )  # fmt: skip
    try:
        if args.list_columns:
            con = connect_read_only(get_settings().warehouse_path)
            for name, data_type in audience_columns(con).items():
                print(f"{name}\t{data_type}")
            return 0
        result = export_audience(spec, out_dir=args.out_dir)
    except (FilterError, ExportError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{result.rows} contacts -> {result.path}")
    for reason, count in result.excluded.items():
        print(f"  excluded ({reason}): {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
