"""Tests of the synthetic retailer generator: determinism, contract compliance, planted mess."""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path

import pytest

from orchestration.generator import generate

ISO = "%Y-%m-%dT%H:%M:%SZ"
LOCAL = "%d.%m.%Y %H:%M:%S"

# The extraction contract of ARCHITECTURE.md, restated independently of the generator's code.
TABLES = {
    ("crm", "contacts.csv"): dict(
        required={"contact_id", "created_at", "updated_at"},
        iso={"created_at", "updated_at", "consent_email_at", "consent_sms_at",
             "consent_whatsapp_at", "consent_telegram_at"},
        dates={"birth_date"},
        enums={"gender": {"female", "male", ""},
               "lead_source": {"website_form", "quiz", "vk", "telegram_bot", "offline_store",
                               "loyalty_signup", ""},
               "consent_email": {"true", "false", ""}, "consent_sms": {"true", "false", ""},
               "consent_whatsapp": {"true", "false", ""},
               "consent_telegram": {"true", "false", ""}}),
    ("shop", "orders.jsonl"): dict(
        required={"order_id", "created_at", "updated_at"}, iso={"created_at", "updated_at"},
        amounts={"subtotal_amount", "discount_amount", "shipping_amount", "total_amount"},
        enums={"status": {"completed", "cancelled", "returned", None},
               "channel": {"web", "app", None}, "currency": {"RUB", None}}),
    ("shop", "order_lines.jsonl"): dict(
        required={"order_line_id", "order_id", "product_id", "quantity", "unit_price",
                  "line_amount"},
        amounts={"unit_price", "discount_amount", "line_amount"}, quantities={"quantity"}),
    ("pos", "receipts.csv"): dict(
        required={"receipt_id", "store_id", "total_amount", "created_at_local"},
        local={"created_at_local"}, amounts={"total_amount", "discount_amount"},
        enums={"receipt_type": {"sale", "return", ""},
               "payment_method": {"card", "cash", "sbp", ""}}),
    ("pos", "receipt_lines.csv"): dict(
        required={"receipt_id", "line_number", "product_id", "quantity", "unit_price",
                  "line_amount"},
        amounts={"unit_price", "discount_amount", "line_amount"}, quantities={"quantity"}),
    ("loyalty", "cards.csv"): dict(
        required={"card_number", "issued_at", "updated_at"}, iso={"issued_at", "updated_at"},
        amounts={"points_balance"}, enums={"status": {"active", "blocked", ""}}),
    ("web", "events.jsonl"): dict(
        required={"event_id", "event_type", "occurred_at", "anonymous_id"}, iso={"occurred_at"},
        enums={"event_type": {"page_view", "product_view", "add_to_cart", "checkout", "login",
                              "identify"}}),
    ("messaging", "events.csv"): dict(
        required={"event_id", "channel", "address", "event_type", "occurred_at"},
        iso={"occurred_at"},
        enums={"channel": {"email", "sms", "whatsapp", "telegram"},
               "event_type": {"sent", "delivered", "opened", "clicked", "bounced_hard",
                              "bounced_soft", "unsubscribed", "not_interested"}}),
    ("surveys", "responses.jsonl"): dict(
        required={"response_id", "submitted_at"}, iso={"submitted_at"},
        enums={"form_id": {"style_quiz", "birthday_form", "feedback", "reactivation_poll",
                           None}}),
}


def _row_problem(rule: dict, row: dict) -> str | None:
    def empty(v) -> bool:
        return v is None or v == ""

    for col in rule.get("required", ()):
        if empty(row.get(col)):
            return f"missing {col}"
    for kind, fmt in (("iso", ISO), ("local", LOCAL), ("dates", "%Y-%m-%d")):
        for col in rule.get(kind, ()):
            if not empty(row.get(col)):
                try:
                    datetime.strptime(str(row[col]), fmt)
                except ValueError:
                    return f"bad date {col}"
    for col in set(rule.get("amounts", ())) | set(rule.get("quantities", ())):
        if not empty(row.get(col)):
            try:
                value = float(row[col])
            except (TypeError, ValueError):
                return f"not a number {col}"
            if value < 0 or (col in rule.get("quantities", ()) and value <= 0):
                return f"negative {col}"
    for col, allowed in rule.get("enums", {}).items():
        if row.get(col) not in allowed:
            return f"bad enum {col}"
    return None


def invalid_lines(landing: Path) -> dict[tuple[str, int], str]:
    """Every line that breaks the extraction rules, keyed by (relative file, 1-based line)."""
    bad = {}
    for (system, name), rule in TABLES.items():
        for path in sorted(landing.glob(f"{system}/*/{name}")):
            rel = path.relative_to(landing).as_posix()
            raw_lines = path.read_bytes().split(b"\n")[:-1]
            header = None
            for n, raw in enumerate(raw_lines, start=1):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    bad[(rel, n)] = "invalid utf-8"
                    continue
                if name.endswith(".csv"):
                    values = next(csv.reader(io.StringIO(text)))
                    if header is None:
                        header = values
                        continue
                    if len(values) != len(header):
                        bad[(rel, n)] = "column count"
                        continue
                    row = dict(zip(header, values, strict=True))
                else:
                    try:
                        row = json.loads(text)
                    except json.JSONDecodeError:
                        bad[(rel, n)] = "broken json"
                        continue
                    if not isinstance(row, dict):
                        bad[(rel, n)] = "not an object"
                        continue
                problem = _row_problem(rule, row)
                if problem:
                    bad[(rel, n)] = problem
    return bad


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        return list(csv.DictReader(fh))


@functools.cache
def read_all(landing: Path, system: str, name: str) -> list[dict]:
    """All parseable rows of one file type, with `_file`/`_line` added (cached: read-only)."""
    out = []
    for path in sorted(landing.glob(f"{system}/*/{name}")):
        rel = path.relative_to(landing).as_posix()
        for n, raw in enumerate(path.read_bytes().split(b"\n")[:-1], start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if name.endswith(".csv"):
                if n == 1:
                    header = next(csv.reader(io.StringIO(text)))
                    continue
                values = next(csv.reader(io.StringIO(text)))
                if len(values) != len(header):
                    continue
                row = dict(zip(header, values, strict=True))
            else:
                try:
                    row = json.loads(text)
                except json.JSONDecodeError:
                    continue
            row["_file"], row["_line"] = rel, n
            out.append(row)
    return out


def digits(phone: str | None) -> str:
    d = re.sub(r"\D", "", phone or "")
    if len(d) == 11 and d[0] == "8":
        d = "7" + d[1:]
    if len(d) == 10 and d[0] == "9":
        d = "7" + d
    return d


def tree_hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


GENERATION_CPU_SECONDS: dict[str, float] = {}


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "landing"
    started = time.process_time()
    generate(out, size="S", seed=42)
    GENERATION_CPU_SECONDS["S"] = time.process_time() - started
    return out


def test_size_s_is_quick(landing):
    # CPU time, not wall time: the test machine is shared and wall time says little.
    assert GENERATION_CPU_SECONDS["S"] < 20


@pytest.fixture(scope="module")
def truth(landing: Path) -> dict:
    t = landing / "_truth"
    records = read_csv(t / "records.csv")
    by_type: dict[str, dict[str, str]] = defaultdict(dict)
    for r in records:
        by_type[r["record_type"]][r["record_id"]] = r["person_id"]
    return {
        "people": {r["person_id"]: r for r in read_csv(t / "people.csv")},
        "records": by_type,
        "malformed": read_csv(t / "malformed.csv"),
        "duplicates": read_csv(t / "duplicates.csv"),
        "junk": read_csv(t / "junk_identifiers.csv"),
        "manifest": json.loads((t / "manifest.json").read_text(encoding="utf-8")),
    }


def test_same_seed_gives_identical_files(landing, tmp_path):
    again = tmp_path / "again"
    generate(again, size="S", seed=42)
    assert tree_hashes(again) == tree_hashes(landing)


def test_cli_output_is_a_stable_prefix_whatever_the_hash_seed(landing, tmp_path):
    """A shorter run from the command line, in a process with another string-hash seed,
    writes exactly the same first days (generation streams day by day)."""
    out = tmp_path / "cli"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-m", "orchestration.generator", "--seed", "42", "--size",
                    "S", "--days", "15", "--out", str(out), "--no-progress"],
                   check=True, env=env, cwd=Path(__file__).resolve().parent.parent)
    short, full = tree_hashes(out), tree_hashes(landing)
    daily = [k for k in short if not k.startswith(("_truth", "reference"))]
    assert len(daily) == 9 * 15
    assert all(short[k] == full[k] for k in daily)


def test_different_seed_gives_different_files(landing, tmp_path):
    other = tmp_path / "other"
    generate(other, size="S", seed=7, days=20)
    a, b = tree_hashes(landing), tree_hashes(other)
    common = [k for k in b if k in a and "/2025-11-0" in k]
    assert common, "the partial run should share day folders with the full one"
    assert sum(a[k] != b[k] for k in common) > len(common) // 2


def test_refuses_to_write_into_a_non_empty_folder(tmp_path):
    (tmp_path / "x.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        generate(tmp_path, size="S", seed=1, days=1)


def test_layout_one_folder_per_day_and_reference(landing, truth):
    m = truth["manifest"]
    assert (m["start_date"], m["end_date"], m["days"]) == ("2025-11-01", "2026-10-31", 365)
    for system, name in TABLES:
        files = sorted(landing.glob(f"{system}/*/{name}"))
        assert len(files) == 365, (system, name)
        assert files[0].parent.name == "2025-11-01" and files[-1].parent.name == "2026-10-31"
    stores = read_csv(landing / "reference" / "stores.csv")
    products = read_csv(landing / "reference" / "products.csv")
    assert len({s["time_zone"] for s in stores}) >= 5
    assert {p["category_l1"] for p in products} == {"Одежда и обувь", "Косметика",
                                                     "Товары для животных"}


def test_manifest_row_counts_match_files(landing, truth):
    files = truth["manifest"]["files"]
    for (system, name), _ in TABLES.items():
        table = name.split(".")[0]
        lines = 0
        for path in landing.glob(f"{system}/*/{name}"):
            lines += path.read_bytes().count(b"\n") - (1 if name.endswith(".csv") else 0)
        assert files[f"{system}/{table}"]["rows"] == lines
    counts = {k: v["rows"] for k, v in files.items()}
    assert counts["crm/contacts"] >= truth["manifest"]["counts"]["crm_contacts"] * 0.95
    assert 500 < counts["shop/orders"] < 10_000
    assert counts["shop/order_lines"] > counts["shop/orders"]
    assert counts["pos/receipt_lines"] > counts["pos/receipts"] > 200
    assert counts["web/events"] > 10 * counts["shop/orders"]
    assert counts["messaging/events"] > 2_000
    assert counts["surveys/responses"] > 100


def test_malformed_rows_in_truth_are_exactly_the_invalid_lines(landing, truth):
    listed = {(r["file"], int(r["line"])): r["defect"] for r in truth["malformed"]}
    found = invalid_lines(landing)
    assert set(found) == set(listed)
    total = sum(v["rows"] for k, v in truth["manifest"]["files"].items()
                if not k.startswith("reference"))
    assert 0.001 < len(listed) / total < 0.006
    kinds = Counter(listed.values())
    assert set(kinds) == {"bad_date", "negative_amount", "broken_json", "invalid_utf8",
                          "wrong_column_count"}
    for (file, line), defect in listed.items():
        if defect == "invalid_utf8":
            raw = (landing / file).read_bytes().split(b"\n")[line - 1]
            raw.decode("cp1251")  # the bytes are Windows-1251 text, as a legacy till sends


def test_exact_duplicate_rows_are_listed(landing, truth):
    dups = truth["duplicates"]
    assert {d["table"] for d in dups} >= {"orders", "receipts"}
    for d in dups:
        lines = (landing / d["file"]).read_bytes().split(b"\n")
        assert lines[int(d["line"]) - 1] == lines[int(d["duplicate_of_line"]) - 1]


def test_records_truth_covers_every_record(landing, truth):
    rec = truth["records"]
    people = truth["people"]
    checks = [("crm", "contacts.csv", "contact_id", "crm_contact"),
              ("shop", "orders.jsonl", "order_id", "shop_order"),
              ("pos", "receipts.csv", "receipt_id", "pos_receipt"),
              ("loyalty", "cards.csv", "card_number", "loyalty_card"),
              ("web", "events.jsonl", "anonymous_id", "web_cookie"),
              ("surveys", "responses.jsonl", "response_id", "survey_response")]
    for system, name, key, rtype in checks:
        for row in read_all(landing, system, name):
            if row.get(key):
                assert row[key] in rec[rtype], (rtype, row[key])
    for row in read_all(landing, "messaging", "events.csv"):
        assert f"{row['channel']}:{row['address']}" in rec["messaging_address"]
    for rtype, mapping in rec.items():
        assert all(pid == "" or pid in people for pid in mapping.values()), rtype
    assert any(pid == "" for pid in rec["web_cookie"].values()), "anonymous cookies"
    assert any(pid == "" for pid in rec["crm_contact"].values()), "QA test contacts"


def test_one_person_has_many_phone_shapes(landing, truth):
    rec = truth["records"]
    shapes: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for row in read_all(landing, "crm", "contacts.csv"):
        pid = rec["crm_contact"].get(row["contact_id"])
        if pid and row["phone"]:
            shapes[pid][digits(row["phone"])].add(row["phone"])
    for row in read_all(landing, "shop", "orders.jsonl"):
        pid = rec["shop_order"].get(row["order_id"])
        if pid and row.get("phone"):
            shapes[pid][digits(row["phone"])].add(row["phone"])
    for row in read_all(landing, "pos", "receipts.csv"):
        pid = rec["pos_receipt"].get(row["receipt_id"])
        if pid and row["customer_phone"]:
            shapes[pid][digits(row["customer_phone"])].add(row["customer_phone"])
    multi = [pid for pid, by in shapes.items() if any(len(v) >= 3 for v in by.values())]
    assert len(multi) >= 20
    all_shapes = {s for by in shapes.values() for v in by.values() for s in v}
    assert any(re.fullmatch(r"\+7 \(\d{3}\) \d{3}-\d{2}-\d{2}", s) for s in all_shapes)
    assert any(re.fullmatch(r"8 \d{3} \d{3} \d{2} \d{2}", s) for s in all_shapes)
    assert any(re.fullmatch(r"7\d{10}", s) for s in all_shapes)
    assert any(re.fullmatch(r"8\(\d{3}\)\d{7}", s) for s in all_shapes)
    assert any(s.startswith(("+48", "+49", "+1 ", "0048", "0049")) for s in all_shapes)


def test_emails_are_typed_messily(landing):
    emails = [r["email"] for r in read_all(landing, "crm", "contacts.csv") if r["email"]]
    assert any(e != e.strip() for e in emails)
    assert any(e.strip() != e.strip().lower() for e in emails)
    domains = {e.strip().lower().split("@")[-1] for e in emails}
    assert domains & {"mailinator.com", "yopmail.com", "guerrillamail.com", "10minutemail.com"}
    assert any(e.strip().lower().startswith(("info@", "admin@", "office@", "sales@"))
               for e in emails)


def test_junk_identifiers_are_shared_by_many_records(landing, truth):
    junk = truth["junk"]
    assert {j["identifier_type"] for j in junk} == {"email", "phone"}
    junk_emails = {j["value"] for j in junk if j["identifier_type"] == "email"}
    junk_phones = {j["value"] for j in junk if j["identifier_type"] == "phone"}
    assert "test@test.com" in junk_emails and "0000000000" in junk_phones
    stores = read_csv(landing / "reference" / "stores.csv")
    assert {s["phone"] for s in stores} <= junk_phones
    rec = truth["records"]
    owners: dict[str, set[str]] = defaultdict(set)
    for row in read_all(landing, "pos", "receipts.csv"):
        if row["customer_phone"] in junk_phones:
            owners[row["customer_phone"]].add(rec["pos_receipt"][row["receipt_id"]])
    for row in read_all(landing, "shop", "orders.jsonl"):
        for v in (row.get("email"), row.get("phone")):
            if v in junk_emails | junk_phones:
                owners[v].add(rec["shop_order"][row["order_id"]])
    for row in read_all(landing, "crm", "contacts.csv"):
        for v in (row["email"], row["phone"]):
            if v in junk_emails | junk_phones:
                owners[v].add(rec["crm_contact"][row["contact_id"]])
    shared = {v: o for v, o in owners.items() if len(o) >= 3}
    assert len(shared) >= 4
    assert sum(len(o) for o in owners.values()) >= 60


def test_moved_people_browse_from_their_new_time_zone(landing, truth):
    people = truth["people"]
    moved = {pid: p for pid, p in people.items() if p["moved_at"]}
    assert 0.03 < len(moved) / len(people) < 0.08
    assert all(p["current_time_zone"] != p["home_time_zone"] for p in moved.values())
    cookie_owner = truth["records"]["web_cookie"]
    recent: dict[str, Counter] = defaultdict(Counter)
    for row in read_all(landing, "web", "events.jsonl"):
        pid = cookie_owner.get(row["anonymous_id"])
        if pid in moved and row["occurred_at"][:10] > moved[pid]["moved_at"]:
            recent[pid][row["ip_time_zone"]] += 1
    assert len(recent) >= 0.8 * len(moved)
    for pid, zones in recent.items():
        assert zones.most_common(1)[0][0] == moved[pid]["current_time_zone"]
    # Their CRM profiles still carry the old zone (or nothing).
    contact_owner = truth["records"]["crm_contact"]
    for row in read_all(landing, "crm", "contacts.csv"):
        pid = contact_owner.get(row["contact_id"])
        if pid in moved:
            assert row["time_zone"] in ("", moved[pid]["home_time_zone"])
    # No store purchases in the old city after moving.
    receipt_owner = truth["records"]["pos_receipt"]
    for row in read_all(landing, "pos", "receipts.csv"):
        pid = receipt_owner.get(row["receipt_id"])
        if pid in moved and row["receipt_type"] == "sale":
            day = datetime.strptime(row["created_at_local"], LOCAL).date()
            assert day <= date.fromisoformat(moved[pid]["moved_at"])


def test_crm_has_duplicate_contacts_and_a_first_day_snapshot(landing, truth):
    owners = Counter(pid for pid in truth["records"]["crm_contact"].values() if pid)
    dup_share = sum(1 for n in owners.values() if n >= 2) / len(owners)
    assert 0.05 < dup_share < 0.12
    first = read_csv(landing / "crm" / "2025-11-01" / "contacts.csv")
    assert len(first) > 0.5 * len(owners)
    assert sum(r["created_at"] < "2022" for r in first if r["created_at"][:4].isdigit()) > 100
    later = read_all(landing, "crm", "contacts.csv")
    assert any(r["created_at"] < r["_file"][4:14] for r in later
               if r["_file"] > "crm/2025-11-01"), "updates of old contacts arrive as deltas"


def test_households_share_a_loyalty_card(landing, truth):
    households = defaultdict(set)
    for pid, p in truth["people"].items():
        if p["household_id"]:
            households[p["household_id"]].add(pid)
    assert len(households) >= 5 and all(len(m) == 2 for m in households.values())
    receipt_owner = truth["records"]["pos_receipt"]
    buyers_per_card = defaultdict(set)
    for row in read_all(landing, "pos", "receipts.csv"):
        card = row["loyalty_card_number"].replace(" ", "")
        if card:
            buyers_per_card[card].add(receipt_owner[row["receipt_id"]])
    shared = [b for b in buyers_per_card.values() if len(b) >= 2]
    assert len(shared) >= 3
    hh_of = {pid: h for h, m in households.items() for pid in m}
    assert all(len({hh_of.get(p) for p in b}) == 1 and None not in {hh_of.get(p) for p in b}
               for b in shared)


def test_activity_truth_is_plausible(landing, truth):
    people = list(truth["people"].values())
    inactive = sum(p["is_inactive"] == "true" for p in people) / len(people)
    never = sum(p["is_never_active"] == "true" for p in people) / len(people)
    assert 0.12 < inactive < 0.45
    assert 0.03 < never < 0.12
    assert all(p["is_inactive"] == "true" for p in people if p["is_never_active"] == "true")
    events = Counter(r["event_type"] for r in read_all(landing, "messaging", "events.csv"))
    for kind in ("bounced_hard", "bounced_soft", "unsubscribed", "not_interested", "opened"):
        assert events[kind] > 0, kind
    answers = Counter(r.get("answer") for r in read_all(landing, "surveys", "responses.jsonl")
                      if r.get("form_id") == "reactivation_poll")
    assert answers["not interested"] > 0
    statuses = Counter(r["status"] for r in read_all(landing, "shop", "orders.jsonl"))
    assert statuses["cancelled"] > 0 and statuses["returned"] > 0
    orders = read_all(landing, "shop", "orders.jsonl")
    assert sum(1 for r in orders if r.get("promo_code")) > 20
    assert sum(1 for r in orders if r.get("user_id") is None) > 100  # guest checkouts
    kinds = Counter(r["receipt_type"] for r in read_all(landing, "pos", "receipts.csv"))
    assert kinds["return"] > 0


def test_receipts_use_store_local_time(landing, truth):
    stores = {s["store_id"] for s in read_csv(landing / "reference" / "stores.csv")}
    malformed = {(r["file"], int(r["line"])) for r in truth["malformed"]}
    for row in read_all(landing, "pos", "receipts.csv"):
        if (row["_file"], row["_line"]) in malformed:
            continue
        assert row["store_id"] in stores
        local = datetime.strptime(row["created_at_local"], LOCAL)
        assert local.date().isoformat() == row["_file"].split("/")[1]
        assert 10 <= local.hour < 22
