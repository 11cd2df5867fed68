"""Writes landing files day by day, planting malformed and duplicate rows, and the hidden truth."""

from __future__ import annotations

import csv
import io
import json
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from .vector import render


@dataclass(frozen=True)
class TableSpec:
    """One landing file type and the columns its defects may be planted in."""

    system: str
    table: str
    filename: str
    fmt: str  # "csv" or "jsonl"
    columns: tuple[str, ...]
    date_columns: tuple[str, ...] = ()  # required timestamps a "bad date" defect breaks
    local_date: bool = False  # created_at_local uses DD.MM.YYYY HH:MM:SS
    amount_columns: tuple[str, ...] = ()
    text_column: str = ""  # where cp1251 text goes for an invalid-UTF-8 defect
    duplicate_rate: float = 0.0  # share of rows exported twice in the same file

    @property
    def key(self) -> str:
        return f"{self.system}/{self.table}"

    def defects(self) -> tuple[str, ...]:
        kinds = ["invalid_utf8"]
        if self.date_columns:
            kinds.append("bad_date")
        if self.amount_columns:
            kinds.append("negative_amount")
        kinds.append("wrong_column_count" if self.fmt == "csv" else "broken_json")
        return tuple(kinds)


CRM_CONTACTS = TableSpec(
    "crm", "contacts", "contacts.csv", "csv",
    ("contact_id", "first_name", "last_name", "first_name_latin", "last_name_latin", "email",
     "phone", "birth_date", "gender", "city", "country_code", "time_zone", "lead_source", "tags",
     "telegram_id", "vk_id", "consent_email", "consent_email_at", "consent_sms", "consent_sms_at",
     "consent_whatsapp", "consent_whatsapp_at", "consent_telegram", "consent_telegram_at",
     "created_at", "updated_at"),
    date_columns=("created_at", "updated_at"), text_column="last_name")
SHOP_ORDERS = TableSpec(
    "shop", "orders", "orders.jsonl", "jsonl",
    ("order_id", "created_at", "updated_at", "status", "user_id", "email", "phone", "first_name",
     "last_name", "promo_code", "channel", "currency", "subtotal_amount", "discount_amount",
     "shipping_amount", "total_amount", "anonymous_id"),
    date_columns=("created_at", "updated_at"), amount_columns=("total_amount", "subtotal_amount"),
    text_column="last_name", duplicate_rate=0.004)
SHOP_ORDER_LINES = TableSpec(
    "shop", "order_lines", "order_lines.jsonl", "jsonl",
    ("order_line_id", "order_id", "product_id", "quantity", "unit_price", "discount_amount",
     "line_amount"),
    amount_columns=("line_amount", "unit_price"), text_column="product_id")
POS_RECEIPTS = TableSpec(
    "pos", "receipts", "receipts.csv", "csv",
    ("receipt_id", "store_id", "register_id", "cashier_id", "loyalty_card_number",
     "customer_phone", "receipt_type", "total_amount", "discount_amount", "payment_method",
     "created_at_local", "original_receipt_id"),
    date_columns=("created_at_local",), local_date=True, amount_columns=("total_amount",),
    text_column="register_id", duplicate_rate=0.003)
POS_RECEIPT_LINES = TableSpec(
    "pos", "receipt_lines", "receipt_lines.csv", "csv",
    ("receipt_id", "line_number", "product_id", "quantity", "unit_price", "discount_amount",
     "line_amount"),
    amount_columns=("line_amount",), text_column="product_id")
LOYALTY_CARDS = TableSpec(
    "loyalty", "cards", "cards.csv", "csv",
    ("card_number", "holder_name", "phone", "email", "issued_at", "store_id", "points_balance",
     "status", "updated_at"),
    date_columns=("issued_at", "updated_at"), amount_columns=("points_balance",),
    text_column="holder_name")
WEB_EVENTS = TableSpec(
    "web", "events", "events.jsonl", "jsonl",
    ("event_id", "event_type", "occurred_at", "anonymous_id", "user_id", "email", "product_id",
     "page_url", "ip_country", "ip_time_zone", "user_agent"),
    date_columns=("occurred_at",), text_column="page_url", duplicate_rate=0.0005)
MESSAGING_EVENTS = TableSpec(
    "messaging", "events", "events.csv", "csv",
    ("event_id", "channel", "address", "campaign_id", "campaign_name", "promo_code",
     "event_type", "occurred_at", "bounce_reason"),
    date_columns=("occurred_at",), text_column="campaign_name")
SURVEY_RESPONSES = TableSpec(
    "surveys", "responses", "responses.jsonl", "jsonl",
    ("response_id", "form_id", "submitted_at", "email", "phone", "name", "birthday",
     "interests", "answer"),
    date_columns=("submitted_at",), text_column="answer")

DAILY_SPECS = (CRM_CONTACTS, SHOP_ORDERS, SHOP_ORDER_LINES, POS_RECEIPTS, POS_RECEIPT_LINES,
               LOYALTY_CARDS, WEB_EVENTS, MESSAGING_EVENTS, SURVEY_RESPONSES)

_CYRILLIC_FILLER = "Касса №2 (кассир Иванова)"


def _csv_line(values: list) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()[:-1]


def _json_line(row: dict) -> str:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":"))


@dataclass
class FileStats:
    files: int = 0
    rows: int = 0
    malformed: int = 0
    duplicates: int = 0


@dataclass
class Landing:
    """Owns the output folder; every daily file and truth row goes through it."""

    out: Path
    seed: int
    malformed_rate: float = 0.003
    stats: dict[str, FileStats] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Defects draw from their own stream so the business data does not depend on them.
        self.rng = np.random.default_rng([self.seed, 0xBAD])
        truth = self.out / "_truth"
        truth.mkdir(parents=True, exist_ok=True)
        # Truth files stay open for the whole run and are streamed, so memory stays bounded.
        self._files = ExitStack()

        def truth_csv(name: str, header: list[str]):
            path = truth / name
            fh = self._files.enter_context(path.open("w", encoding="utf-8", newline=""))
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(header)
            return w

        self._records = truth_csv("records.csv", ["system", "record_type", "record_id",
                                                  "person_id"])
        self._malformed = truth_csv("malformed.csv", ["system", "table", "file", "line",
                                                      "defect"])
        self._dups = truth_csv("duplicates.csv", ["system", "table", "file", "line",
                                                  "duplicate_of_line"])

    # -- truth ---------------------------------------------------------------------------
    def record(self, system: str, record_type: str, record_id: str, person_id: str) -> None:
        self._records.writerow([system, record_type, record_id, person_id])

    def records(self, rows) -> None:
        self._records.writerows(rows)

    def close(self) -> None:
        self._files.close()

    # -- daily files ---------------------------------------------------------------------
    def write(self, spec: TableSpec, day: date, rows: list | dict) -> None:
        """Write one day's file.

        rows: a list of rows (CSV: lists in column order, JSONL: dicts) or, for big batches,
        a dict of equally long column arrays rendered column-wise.
        """
        rel = f"{spec.system}/{day.isoformat()}/{spec.filename}"
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        st = self.stats.setdefault(spec.key, FileStats())
        st.files += 1
        if isinstance(rows, dict):
            lines: list = render(spec.fmt, spec.columns, rows)
        else:
            one = _csv_line if spec.fmt == "csv" else _json_line
            lines = [one(r) for r in rows]
        n = len(lines)
        dup_of: list[int] = []
        if spec.duplicate_rate and n:
            dup_of = np.flatnonzero(self.rng.random(n) < spec.duplicate_rate).tolist()
        bad = self.rng.random(n) < self.malformed_rate if n else np.zeros(0, bool)
        for i in dup_of:
            bad[i] = False  # an exact duplicate must stay a clean copy
        first = 2 if spec.fmt == "csv" else 1
        kinds = spec.defects()
        for i in np.flatnonzero(bad).tolist():
            defect = kinds[int(self.rng.integers(0, len(kinds)))]
            row = next(csv.reader([lines[i]])) if spec.fmt == "csv" else json.loads(lines[i])
            lines[i] = self._break(spec, row, defect)
            self._malformed.writerow([spec.system, spec.table, rel, first + i, defect])
            st.malformed += 1
        for i in dup_of:
            lines.append(lines[i])
            self._dups.writerow([spec.system, spec.table, rel, first + len(lines) - 1, first + i])
            st.duplicates += 1
        st.rows += len(lines)
        with open(path, "wb") as fh:
            if spec.fmt == "csv":
                fh.write((",".join(spec.columns) + "\n").encode("utf-8"))
            chunk: list[str] = []
            for line in lines:
                if isinstance(line, bytes):  # a planted defect, possibly not UTF-8
                    if chunk:
                        fh.write(("\n".join(chunk) + "\n").encode("utf-8"))
                        chunk = []
                    fh.write(line + b"\n")
                else:
                    chunk.append(line)
            if chunk:
                fh.write(("\n".join(chunk) + "\n").encode("utf-8"))

    def _break(self, spec: TableSpec, row, defect: str) -> bytes:
        rng = self.rng
        if spec.fmt == "csv":
            values = list(row)
            idx = {c: i for i, c in enumerate(spec.columns)}
        else:
            values = dict(row)
            idx = {c: c for c in spec.columns}
        if defect == "bad_date":
            col = idx[spec.date_columns[int(rng.integers(0, len(spec.date_columns)))]]
            if spec.local_date:
                options = ("31.02.2026 10:15:00", "2026-02-30 12:00:00", "32.13.2025 25:61:00")
            else:
                options = ("2026-02-30T12:00:00Z", "31/02/2025 10:00", "0000-00-00 00:00:00",
                           "2025-13-45T99:99:99Z")
            values[col] = options[int(rng.integers(0, len(options)))]
        elif defect == "negative_amount":
            col = idx[spec.amount_columns[int(rng.integers(0, len(spec.amount_columns)))]]
            amount = abs(float(values[col] or 0)) or 100.0  # -0.00 would not be negative
            values[col] = f"-{amount:.2f}" if spec.fmt == "csv" else -amount
        elif defect == "invalid_utf8":
            col = idx[spec.text_column]
            text = str(values[col] or "")
            if not any(ord(ch) > 127 for ch in text):
                values[col] = f"{text} {_CYRILLIC_FILLER}".strip()
            line = (_csv_line(values) if spec.fmt == "csv" else _json_line(values))
            raw = line.encode("cp1251", errors="replace")
            try:
                raw.decode("utf-8")
                raw += b" \xcf\xf0\xe8\xe2\xe5\xf2"  # "Привет" in cp1251 keeps it undecodable
            except UnicodeDecodeError:
                pass
            return raw
        elif defect == "wrong_column_count":
            # A field dropped, or an address with a comma an exporter split in two.
            values = values[:-1] if rng.random() < 0.5 else values + ["Москва, ул. Ленина"]
        elif defect == "broken_json":
            line = _json_line(values)
            cut = int(len(line) * (0.3 + 0.5 * rng.random()))
            return line[:cut].encode("utf-8")
        line = _csv_line(values) if spec.fmt == "csv" else _json_line(values)
        return line.encode("utf-8")

    def write_reference(self, name: str, columns: list[str], rows: list[list[str]]) -> None:
        path = self.out / "reference" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(columns)
            w.writerows(rows)
        self.stats[f"reference/{name.removesuffix('.csv')}"] = FileStats(1, len(rows), 0, 0)
