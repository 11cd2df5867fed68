"""Day-by-day simulation of the demo retailer, streamed to landing files with bounded memory."""

from __future__ import annotations

import csv
import json
import math
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from . import settings as cfg
from .mess import (
    JUNK_EMAILS,
    JUNK_PHONES,
    birthday_text,
    email_shape,
    esp_phone,
    name_typo,
    phone_shape,
)
from .population import (
    CHANNELS,
    Cards,
    Contacts,
    People,
    guest_email,
    make_cards,
    make_contacts,
    make_households,
    make_people,
)
from .reference import PRODUCT_COLUMNS, STORE_COLUMNS, Products, Stores, make_products, make_stores
from .writer import (
    CRM_CONTACTS,
    LOYALTY_CARDS,
    MESSAGING_EVENTS,
    POS_RECEIPT_LINES,
    POS_RECEIPTS,
    SHOP_ORDER_LINES,
    SHOP_ORDERS,
    SURVEY_RESPONSES,
    WEB_EVENTS,
    Landing,
)

SHOP_URL = "https://shop.clientbase.example"
L1_SLUGS = ("fashion", "beauty", "pets")
INTERESTS = ("dresses", "jeans", "shoes", "accessories", "skincare", "makeup", "fragrance",
             "haircare", "dogs", "cats")
GENERIC_PROMOS = ("WELCOME10", "SALE15", "FREESHIP", "BDAY20")
BOUNCE_REASONS_HARD = ("550 5.1.1 User unknown", "550 5.1.2 Domain not found",
                       "550 Mailbox does not exist")
BOUNCE_REASONS_SOFT = ("452 4.2.2 Mailbox full", "421 4.7.0 Try again later")
PHONE_BOUNCE = ("Invalid number", "Number not reachable")
VPN_EXIT = ("NL", "Europe/Amsterdam")
TZ_COUNTRY = {"Europe/Moscow": "RU", "Europe/Kaliningrad": "RU", "Europe/Samara": "RU",
              "Asia/Yekaterinburg": "RU", "Asia/Omsk": "RU", "Asia/Novosibirsk": "RU",
              "Asia/Krasnoyarsk": "RU", "Asia/Irkutsk": "RU", "Asia/Vladivostok": "RU",
              "Asia/Almaty": "KZ", "Europe/Warsaw": "PL", "Europe/Berlin": "DE",
              "America/New_York": "US", "America/Chicago": "US", "America/Los_Angeles": "US",
              "Asia/Colombo": "LK", "Asia/Dubai": "AE", "Asia/Tbilisi": "GE",
              "Asia/Yerevan": "AM", "Europe/Belgrade": "RS", "Asia/Bangkok": "TH",
              "Europe/Istanbul": "TR", "Europe/Amsterdam": "NL"}
CAMPAIGN_THEMES = (  # (month or 0 for any, name, promo code)
    (11, "Чёрная пятница", "BLACKFRIDAY"), (12, "Новогодние подарки", "NY{yy}"),
    (3, "8 Марта", "MARCH8"), (2, "14 февраля", "LOVE14"), (6, "Летний sale", "SUMMER20"),
    (9, "Осенняя коллекция", "AUTUMN15"), (0, "Новинки недели", ""),
    (0, "Для питомцев −15%", "PETS15"), (0, "Бьюти-неделя", "BEAUTY20"),
    (0, "Скучаем по вам", "COMEBACK25"), (0, "Персональная подборка", ""),
)


def _season(d: date) -> float:
    s = 1.15 if d.weekday() >= 5 else 1.0
    if d.month == 11 and d.day >= 20:
        s *= 1.8
    elif d.month == 12 and d.day <= 24:
        s *= 1.5
    elif d.month == 3 and d.day <= 8:
        s *= 1.4
    elif d.month == 2 and 10 <= d.day <= 14:
        s *= 1.2
    elif d.month in (7, 8):
        s *= 0.85
    elif d.month == 1 and d.day <= 10:
        s *= 0.7
    return s


class World:
    """All state of the simulation; `day(t)` writes every file of landing day t."""

    def __init__(self, out: Path, size: cfg.Size, seed: int, end_date: date,
                 n_days_generated: int) -> None:
        self.size, self.seed = size, seed
        self.days = size.days
        self.start = end_date - timedelta(days=size.days - 1)
        self.n_gen = n_days_generated
        self.rng = np.random.default_rng(seed)
        self.out = out
        self.landing = Landing(out, seed, cfg.MALFORMED_RATE)
        rng = self.rng
        self.stores: Stores = make_stores(rng, size.stores, size.store_cities, size.days)
        self.products: Products = make_products(rng, size.products)
        self.people: People = make_people(rng, seed, size, self.stores, 3)
        self.cards: Cards = make_cards(rng, self.people, self.stores, size.days)
        make_households(rng, self.people, size.days)
        self.contacts: Contacts = make_contacts(rng, self.people, size.days)
        self._prepare()

    # -- set-up --------------------------------------------------------------------------
    def _prepare(self) -> None:
        rng, p, c = self.rng, self.people, self.contacts
        self.start_day = np.floor(p.life_start)
        self.last_active = np.full(p.n, -10**6)
        self.last_purchase = np.full(p.n, -10**6)
        self.last_click = np.full(p.n, -10**6)
        self.last_click_promo = np.full(p.n, "", dtype=object)
        self.contact_order = np.argsort(c.created, kind="stable")
        self.contact_created_sorted = c.created[self.contact_order]
        self.card_issued_sorted = self.cards.issued  # cards are already sorted by issue time
        n_cookies = int(p.cookie_count.sum())
        self.cookie_id = self._uuids(n_cookies)
        self.cookie_ua = rng.integers(0, 8, n_cookies)
        self.cookie_used = np.zeros(n_cookies, bool)
        self.cookie_identified = np.zeros(n_cookies, bool)
        self.anon_pool: list[str] = []
        # Product sampling within each department, by popularity.
        self.dept_products = []
        for k in range(3):
            ids = np.flatnonzero(self.products.l1_idx == k)
            w = self.products.popularity[ids]
            self.dept_products.append((ids, np.cumsum(w) / w.sum()))
        allw = self.products.popularity
        self.all_cum = np.cumsum(allw) / allw.sum()
        # Random CRM profile edits, as (day, contact) pairs sorted by day.
        alive_from = np.maximum(c.created, 0)
        pe = np.where(c.person >= 0, c.person, 0)
        alive_to = np.minimum(np.where(c.person >= 0, p.life_end[pe] + 60, 0), self.days)
        span = np.maximum(alive_to - alive_from, 0)
        k = rng.poisson(span / 365 * 0.5)
        who = np.repeat(np.arange(c.n), k)
        when = np.repeat(alive_from, k) + rng.random(int(k.sum())) * np.repeat(span, k)
        order = np.argsort(when, kind="stable")
        self.edit_day, self.edit_contact = when[order], who[order]
        # Campaign calendar.
        self.campaigns: dict[int, list[tuple[str, str, str, str]]] = defaultdict(list)
        n_camp = 0
        for t in range(self.days):
            d = self.start + timedelta(days=t)
            for ch in CHANNELS:
                if rng.random() < cfg.CAMPAIGN_DAY_PROB[ch]:
                    themes = [x for x in CAMPAIGN_THEMES if x[0] in (0, d.month)]
                    _, name, promo = themes[int(rng.integers(0, len(themes)))]
                    n_camp += 1
                    cid = f"CMP-{d:%y%m%d}-{ch[:2].upper()}{n_camp:05d}"
                    self.campaigns[t].append((ch, cid, name, promo.format(yy=d.year % 100)))
        # Address → owner for the truth (junk addresses belong to nobody).
        self.address_owner: dict[str, str] = {}
        junk_addr = set(JUNK_EMAILS) | {esp_phone(x) for x in JUNK_PHONES} | {
            "+" + esp_phone(x) for x in JUNK_PHONES}
        for ch in CHANNELS:
            addrs = c.address[ch]
            for j in range(c.n):
                a = addrs[j]
                if not a:
                    continue
                key = f"{ch}:{a}"
                owner = "" if (c.person[j] < 0 or a in junk_addr) else p.person_id[c.person[j]]
                prev = self.address_owner.get(key)
                self.address_owner[key] = owner if prev is None or prev == owner else ""
        self.address_emitted: set[str] = set()
        self.pending: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        self.order_seq = 5_000_000
        self.receipt_seq = 0
        self.msg_seq = 0
        self.survey_seq = 0
        self.card_seen = np.zeros(self.cards.n, bool)
        self.contact_seen = np.zeros(c.n, bool)
        self._tz_cache: dict[tuple[str, int], int] = {}

    def _uuids(self, n: int) -> np.ndarray:
        if n == 0:
            return np.array([], dtype=object)
        raw = self.rng.bytes(16 * n).hex()
        out = np.empty(n, dtype=object)
        for i in range(n):
            h = raw[32 * i: 32 * i + 32]
            out[i] = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"
        return out

    # -- time helpers --------------------------------------------------------------------
    def iso(self, x: float) -> str:
        """Day-index time (days since the first landing day, fractional) → ISO UTC."""
        day = math.floor(x)
        secs = min(int((x - day) * 86400), 86399)
        d = self.start + timedelta(days=day)
        return f"{d.isoformat()}T{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}Z"

    def offset(self, tz: str, t: int) -> int:
        key = (tz, t)
        if key not in self._tz_cache:
            d = self.start + timedelta(days=t)
            off = ZoneInfo(tz).utcoffset(datetime(d.year, d.month, d.day, 12))
            self._tz_cache[key] = int(off.total_seconds()) if off else 0
        return self._tz_cache[key]

    def local_to_t(self, t: int, local_secs: float, tz: str) -> float:
        """A local wall-clock time on day t → day-index time, kept inside UTC day t."""
        utc = min(max(local_secs - self.offset(tz, t), 0), 86399)
        return t + utc / 86400

    # -- products ------------------------------------------------------------------------
    def pick_products(self, person: int, k: int) -> np.ndarray:
        rng = self.rng
        if rng.random() < 0.7:
            ids, cum = self.dept_products[int(self.people.l1_pref[person])]
        else:
            ids, cum = np.arange(len(self.all_cum)), self.all_cum
        pos = np.minimum(np.searchsorted(cum, rng.random(k)), len(ids) - 1)
        return ids[pos]

    def basket(self, person: int, promo_pct: float) -> tuple[list[dict], float, float]:
        rng = self.rng
        k = int(min(1 + rng.poisson(0.9), 6))
        prods = self.pick_products(person, k)
        lines, subtotal, discount = [], 0.0, 0.0
        for n, pi in enumerate(prods, start=1):
            qty = int(rng.choice([1, 1, 1, 1, 1, 1, 2, 2, 3]))
            price = float(self.products.price[pi])
            gross = round(price * qty, 2)
            sale = round(gross * 0.2, 2) if rng.random() < 0.15 else 0.0
            promo = round((gross - sale) * promo_pct, 2)
            lines.append({"n": n, "product_id": self.products.product_id[pi], "quantity": qty,
                          "unit_price": price, "discount_amount": round(sale + promo, 2),
                          "line_amount": round(gross - sale - promo, 2)})
            subtotal += gross
            discount += sale + promo
        return lines, round(subtotal, 2), round(discount, 2)

    # -- the day -------------------------------------------------------------------------
    def day(self, t: int) -> None:
        d = self.start + timedelta(days=t)
        self.rows: dict[str, list] = defaultdict(list)
        self.card_updates: dict[int, float] = {}
        season = _season(d)
        p = self.people
        alive = np.flatnonzero((self.start_day <= t) & (p.life_end > t))
        self._crm(t)
        self._purchases(t, alive, season)
        self._browsing(t, alive, season)
        self._messaging(t)
        self._surveys(t, alive, d)
        self._pending(t)
        self._loyalty(t)
        lw = self.landing
        r = self.rows
        lw.write(CRM_CONTACTS, d, r["crm"])
        lw.write(SHOP_ORDERS, d, r["orders"])
        lw.write(SHOP_ORDER_LINES, d, r["order_lines"])
        lw.write(POS_RECEIPTS, d, r["receipts"])
        lw.write(POS_RECEIPT_LINES, d, r["receipt_lines"])
        lw.write(LOYALTY_CARDS, d, r["cards"])
        lw.write(WEB_EVENTS, d, r["web"])
        lw.write(MESSAGING_EVENTS, d, r["messaging"])
        lw.write(SURVEY_RESPONSES, d, r["surveys"])
        self.pending.pop(t, None)

    def touch(self, person: int, t: int) -> None:
        if person >= 0 and t > self.last_active[person]:
            self.last_active[person] = t

    # -- CRM -----------------------------------------------------------------------------
    def contact_row(self, j: int) -> list[str]:
        c = self.contacts

        def at(ch: str) -> str:
            x = c.consent_at[ch][j]
            return "" if np.isnan(x) else self.iso(x)

        return [c.contact_id[j], c.first[j], c.last[j], c.first_latin[j], c.last_latin[j],
                c.email[j], c.phone[j], c.birth_date[j], c.gender[j], c.city[j],
                c.country_code[j], c.time_zone[j], c.lead_source[j], c.tags[j],
                c.telegram_id[j], c.vk_id[j],
                c.consent["email"][j], at("email"), c.consent["sms"][j], at("sms"),
                c.consent["whatsapp"][j], at("whatsapp"), c.consent["telegram"][j],
                at("telegram"), self.iso(c.created[j]), self.iso(c.updated[j])]

    def _crm(self, t: int) -> None:
        c, rng = self.contacts, self.rng
        lo = 0 if t == 0 else int(np.searchsorted(self.contact_created_sorted, t))
        hi = int(np.searchsorted(self.contact_created_sorted, t + 1))
        emitted: dict[int, None] = {}
        for j in self.contact_order[lo:hi].tolist():
            if c.created[j] < 0:
                # The first export is a full snapshot: last edits happened before it.
                c.updated[j] = c.created[j] + (0 - c.created[j]) * rng.random() * 0.9
            emitted[j] = None
            if c.lead_source[j] == "quiz" and c.person[j] >= 0 and c.created[j] >= 0:
                self.pending[t]["quiz"].append(j)
        a = int(np.searchsorted(self.edit_day, t))
        b = int(np.searchsorted(self.edit_day, t + 1))
        for k in range(a, b):
            j = int(self.edit_contact[k])
            if c.created[j] > self.edit_day[k] or (t == 0 and j not in emitted and
                                                   c.created[j] >= 1):
                continue
            self._edit_contact(j, float(self.edit_day[k]))
            emitted[j] = None
        for j, ch in self.pending[t]["consent_off"]:
            if c.consent[ch][j] != "false":
                c.consent[ch][j] = "false"
                c.consent_at[ch][j] = t + 0.1 + 0.8 * rng.random()
                c.updated[j] = max(c.updated[j], c.consent_at[ch][j])
                emitted[j] = None
        for j in emitted:
            if not self.contact_seen[j]:
                self.contact_seen[j] = True
                pid = self.people.person_id[c.person[j]] if c.person[j] >= 0 else ""
                self.landing.record("crm", "crm_contact", c.contact_id[j], pid)
            if c.created[j] <= t + 1:
                self.rows["crm"].append(self.contact_row(j))

    def _edit_contact(self, j: int, when: float) -> None:
        c, rng, p = self.contacts, self.rng, self.people
        kind = int(rng.integers(0, 4))
        i = int(c.person[j])
        if kind == 0:
            extra = ("vip", "newsletter", "pets", "beauty")[int(rng.integers(0, 4))]
            tags = [x for x in c.tags[j].split("|") if x]
            if extra not in tags:
                tags.append(extra)
            c.tags[j] = "|".join(tags)
        elif kind == 1 and c.phone[j]:
            c.consent["sms"][j] = "true" if c.consent["sms"][j] != "true" else "false"
            c.consent_at["sms"][j] = when
        elif kind == 2 and not c.birth_date[j]:
            c.birth_date[j] = p.birth_date[i]
        elif kind == 3 and not c.phone[j] and p.phone[i]:
            c.phone[j] = phone_shape(p.phone[i], int(rng.integers(0, 9)))
        c.updated[j] = max(when, c.created[j])

    # -- purchases -----------------------------------------------------------------------
    def _purchases(self, t: int, alive: np.ndarray, season: float) -> None:
        p, rng, st = self.people, self.rng, self.stores
        rate = p.lam[alive] * season
        buyers = alive[rng.random(len(alive)) < -np.expm1(-rate)]
        u = rng.random(len(buyers))
        s = p.store[buyers]
        open_ok = (s >= 0) & (st.opened_day[np.maximum(s, 0)] <= t)
        still_home = ~(p.moved[buyers] & (p.move_day[buyers] <= t))
        in_store = open_ok & still_home & (u >= p.online_share[buyers])
        for i in buyers[in_store].tolist():
            self._receipt(t, i)
        for i in buyers[~in_store].tolist():
            self._order(t, i)
        for _ in range(int(rng.poisson(0.03))):
            self._order(t, -1)  # QA test orders that belong to nobody

    def _order(self, t: int, i: int) -> None:
        rng, p, c = self.rng, self.people, self.contacts
        self.order_seq += 1
        order_id = str(self.order_seq)
        promo, pct = "", 0.0
        if i >= 0 and self.last_click[i] >= t - 14 and self.last_click_promo[i] and \
                rng.random() < 0.6:
            promo, pct = self.last_click_promo[i], 0.15
        elif rng.random() < 0.07:
            promo, pct = GENERIC_PROMOS[int(rng.integers(0, 4))], 0.10
        if promo:
            r = rng.random()
            promo = promo if r < 0.6 else promo.lower() if r < 0.85 else f" {promo.title()}"
        lines, subtotal, discount = self.basket(max(i, 0), pct)
        shipping = 0.0 if subtotal - discount >= 3000 else 299.0
        user_id, email, phone, fn, ln = None, "", "", "", ""
        cookie = None
        if i >= 0:
            cookie, session_t = self._session(t, i, checkout=lines)
            j = int(p.contact[i])
            jd = int(p.dup_contact[i])
            logged = j >= 0 and c.created[j] <= session_t and rng.random() < 0.7
            if logged:
                if jd >= 0 and c.created[jd] <= session_t and rng.random() < 0.25:
                    j = jd
                user_id = c.contact_id[j]
                email, phone = c.email[j].strip(), c.phone[j]
                fn, ln = c.first[j], c.last[j]
            else:
                email = guest_email(p, i, rng.random(), rng.random())
                r = rng.random()
                phone = (phone_shape(p.phone[i], int(rng.integers(0, 9))) if r < 0.7 else
                         JUNK_PHONES[0] if r < 0.74 else "")
                fn, ln = p.first[i], p.last[i]
                if rng.random() < 0.08:
                    fn = name_typo(fn, rng.random())
                if rng.random() < 0.05:
                    fn, ln = p.first_latin[i], p.last_latin[i]
            created = session_t + 30 / 86400
            self.touch(i, t)
            self.last_purchase[i] = t
        else:
            created = t + rng.uniform(0.3, 0.7)
            email, fn, ln, phone = JUNK_EMAILS[0], "Тест", "Тестов", JUNK_PHONES[0]
        created = min(created, t + 86399 / 86400)
        row = {"order_id": order_id, "created_at": self.iso(created),
               "updated_at": self.iso(created), "status": "completed", "user_id": user_id,
               "email": email or None, "phone": phone or None, "first_name": fn or None,
               "last_name": ln or None, "promo_code": promo or None,
               "channel": "app" if rng.random() < 0.35 else "web", "currency": "RUB",
               "subtotal_amount": subtotal, "discount_amount": discount,
               "shipping_amount": shipping,
               "total_amount": round(subtotal - discount + shipping, 2),
               "anonymous_id": cookie}
        self.rows["orders"].append(row)
        for ln_ in lines:
            self.rows["order_lines"].append({
                "order_line_id": f"{order_id}-{ln_['n']}", "order_id": order_id,
                "product_id": ln_["product_id"], "quantity": ln_["quantity"],
                "unit_price": ln_["unit_price"], "discount_amount": ln_["discount_amount"],
                "line_amount": ln_["line_amount"]})
        pid = p.person_id[i] if i >= 0 else ""
        self.landing.record("shop", "shop_order", order_id, pid)
        r = rng.random()
        if r < 0.04:
            later = t + int(rng.integers(1, 3))
            self.pending[later]["order_status"].append((row, "cancelled"))
        elif r < 0.11:
            later = t + int(rng.integers(5, 31))
            self.pending[later]["order_status"].append((row, "returned"))
        if i >= 0 and rng.random() < 0.03:
            self.pending[t + 1]["feedback"].append(i)

    def _receipt(self, t: int, i: int, original: dict | None = None) -> None:
        rng, p, st, cards = self.rng, self.people, self.stores, self.cards
        self.receipt_seq += 1
        rid = f"R{self.receipt_seq:09d}"
        if original is None:
            s = int(p.store[i])
            card = int(p.card_of[i])
            card_ok = (card >= 0 and cards.issued[card] <= t + 1 and cards.blocked_day[card] > t
                       and rng.random() < 0.85)
            lines, subtotal, line_disc = self.basket(i, 0.0)
            card_disc = round((subtotal - line_disc) * 0.05, 2) if card_ok else 0.0
            total = round(subtotal - line_disc - card_disc, 2)
            discount = round(line_disc + card_disc, 2)
            card_txt = cards.number[card] if card_ok else ""
            if card_ok and rng.random() < 0.08:
                card_txt = f" {card_txt[:4]} {card_txt[4:8]} {card_txt[8:]}"
            r = rng.random()
            phone = ""
            if card_ok:
                if r < 0.08:
                    phone = phone_shape(p.phone[i], int(rng.integers(0, 9)))
            elif r < 0.30:
                phone = phone_shape(p.phone[i], int(rng.integers(0, 9)))
            elif r < 0.36:
                phone = st.phone_written[s] if rng.random() < 0.5 else st.phone_digits[s]
            elif r < 0.39:
                phone = JUNK_PHONES[int(rng.integers(0, 2))]
            local = rng.uniform(10 * 3600, 21.9 * 3600)
            register = f"K{int(rng.integers(1, 5))}"
            cashier = f"{st.store_id[s]}-C{int(rng.integers(1, 13)):02d}"
            payment = ("card", "card", "card", "sbp", "cash")[int(rng.integers(0, 5))]
            rtype, orig_id = "sale", ""
            if card_ok:
                cards.points[card] += int(total // 100)
                self.card_updates[card] = t + (local - self.offset(st.time_zone[s], t)) / 86400
            self.last_purchase[i] = t
            if rng.random() < 0.04:
                later = t + int(rng.integers(2, 21))
                self.pending[later]["pos_return"].append(
                    {"i": i, "store": s, "id": rid, "line": lines[0], "card": card_txt.strip(),
                     "phone": phone, "payment": payment, "card_idx": card if card_ok else -1})
            if rng.random() < 0.03:
                self.pending[t + 1]["feedback"].append(i)
        else:
            s = original["store"]
            lines = [original["line"]]
            total = lines[0]["line_amount"]
            discount = lines[0]["discount_amount"]
            card_txt, phone, payment = original["card"], original["phone"], original["payment"]
            local = rng.uniform(10 * 3600, 21.9 * 3600)
            register = f"K{int(rng.integers(1, 5))}"
            cashier = f"{st.store_id[s]}-C{int(rng.integers(1, 13)):02d}"
            rtype, orig_id = "return", original["id"]
            card = original["card_idx"]
            if card >= 0:
                cards.points[card] = max(0, cards.points[card] - int(total // 100))
                self.card_updates[card] = t + 0.5
        d = self.start + timedelta(days=t)
        secs = int(local)
        stamp = f"{d:%d.%m.%Y} {secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
        self.rows["receipts"].append([
            rid, st.store_id[s], register, cashier, card_txt, phone, rtype, f"{total:.2f}",
            f"{discount:.2f}", payment, stamp, orig_id])
        for n, ln_ in enumerate(lines, start=1):
            self.rows["receipt_lines"].append([
                rid, str(n), ln_["product_id"], str(ln_["quantity"]), f"{ln_['unit_price']:.2f}",
                f"{ln_['discount_amount']:.2f}", f"{ln_['line_amount']:.2f}"])
        self.landing.record("pos", "pos_receipt", rid, p.person_id[i])
        self.touch(i, t)

    # -- web -----------------------------------------------------------------------------
    def _cookie(self, i: int, t: int) -> int:
        p, rng = self.people, self.rng
        k = int(p.cookie_count[i])
        first = int(p.cookie_start[i])
        if p.moved[i] and t >= p.move_day[i] and k > 1:
            return first + k - 1  # a new laptop abroad
        return first if (k == 1 or rng.random() < 0.7) else first + int(rng.integers(0, k))

    def _session(self, t: int, i: int, checkout: list | None = None) -> tuple[str, float]:
        """One browsing session of person i on day t; returns (cookie, end time)."""
        p, rng, c = self.people, self.rng, self.contacts
        ck = self._cookie(i, t)
        cookie = self.cookie_id[ck]
        if not self.cookie_used[ck]:
            self.cookie_used[ck] = True
            self.landing.record("web", "web_cookie", cookie, p.person_id[i])
        moved_now = p.moved[i] and t >= p.move_day[i]
        tz = p.current_tz[i] if moved_now else p.home_tz[i]
        country = TZ_COUNTRY.get(tz, "RU")
        if rng.random() < 0.02:
            country, tz = VPN_EXIT
        local = float(np.clip(rng.normal(20.5 * 3600, 3 * 3600), 7 * 3600, 23.9 * 3600))
        now = self.local_to_t(t, local, tz)
        j = int(p.contact[i])
        has_account = j >= 0 and c.created[j] <= now
        user_id = None
        events: list[tuple[str, str | None, str | None]] = []  # (type, product, email)
        if not self.cookie_identified[ck]:
            if has_account and rng.random() < 0.6:
                events.append(("login", None, c.email[j].strip() or None))
                self.cookie_identified[ck] = True
                user_id = c.contact_id[j]
            elif p.email[i] and rng.random() < 0.25:
                events.append(("identify", None,
                                email_shape(p.email[i], int(rng.integers(0, 6)))))
                self.cookie_identified[ck] = True
        elif has_account and rng.random() < 0.6:
            user_id = c.contact_id[j]
        events.insert(0, ("page_view", None, None))
        n_views = int(rng.poisson(1.5)) + (0 if checkout is None else 1)
        for pi in self.pick_products(i, n_views).tolist():
            events.append(("product_view", self.products.product_id[pi], None))
            if rng.random() < 0.15:
                events.append(("add_to_cart", self.products.product_id[pi], None))
        if checkout is not None:
            for ln in checkout:
                events.append(("add_to_cart", ln["product_id"], None))
            events.append(("checkout", None, None))
        ua = self.cookie_ua[ck]
        ua_text = _ua(int(ua))
        ids = self._uuids(len(events))
        for k, (etype, prod, email) in enumerate(events):
            now = min(now + rng.uniform(5, 90) / 86400, t + 86399 / 86400)
            self.rows["web"].append({
                "event_id": ids[k], "event_type": etype, "occurred_at": self.iso(now),
                "anonymous_id": cookie, "user_id": user_id, "email": email,
                "product_id": prod, "page_url": _url(etype, prod), "ip_country": country,
                "ip_time_zone": tz, "user_agent": ua_text})
        self.touch(i, t)
        return cookie, now

    def _browsing(self, t: int, alive: np.ndarray, season: float) -> None:
        p, rng = self.people, self.rng
        rate = p.web_rate[alive] * season
        hit = alive[rng.random(len(alive)) < -np.expm1(-rate)]
        for i in hit.tolist():
            if p.cookie_count[i] > 0:
                self._session(t, i)
        n_anon = int(rng.poisson(0.15 * len(hit) + 1))
        for _ in range(n_anon):
            if self.anon_pool and rng.random() < 0.3:
                cookie = self.anon_pool[int(rng.integers(0, len(self.anon_pool)))]
            else:
                cookie = self._uuids(1)[0]
                self.landing.record("web", "web_cookie", cookie, "")
                self.anon_pool.append(cookie)
                if len(self.anon_pool) > 500:
                    self.anon_pool.pop(0)
            tz = ("Europe/Moscow", "Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk",
                  "Europe/Samara", "America/New_York", "Europe/Berlin")[int(rng.integers(0, 7))]
            now = self.local_to_t(t, float(rng.uniform(8, 23.9)) * 3600, tz)
            n_ev = 1 + int(rng.poisson(1.2))
            ids = self._uuids(n_ev)
            prods = self.pick_products(int(rng.integers(0, p.n)), n_ev)
            ua_text = _ua(int(rng.integers(0, 6)))
            for k in range(n_ev):
                now = min(now + rng.uniform(5, 120) / 86400, t + 86399 / 86400)
                prod = self.products.product_id[prods[k]] if k else None
                etype = "product_view" if k else "page_view"
                self.rows["web"].append({
                    "event_id": ids[k], "event_type": etype, "occurred_at": self.iso(now),
                    "anonymous_id": cookie, "user_id": None, "email": None, "product_id": prod,
                    "page_url": _url(etype, prod), "ip_country": TZ_COUNTRY[tz],
                    "ip_time_zone": tz, "user_agent": ua_text})

    # -- messaging -----------------------------------------------------------------------
    def _messaging(self, t: int) -> None:
        c, rng = self.contacts, self.rng
        for ch, cid, name, promo in self.campaigns.get(t, []):
            eligible = np.flatnonzero((c.consent[ch] == "true") & (c.address[ch] != "")
                                      & (c.created <= t) & ~c.suppressed[ch])
            frac = cfg.SENDS_PER_YEAR[ch] / (365 * cfg.CAMPAIGN_DAY_PROB[ch])
            to = eligible[rng.random(len(eligible)) < frac]
            base = rng.uniform(6, 10) * 3600
            for j in to.tolist():
                self._send(t, j, ch, cid, name, promo, base)

    def _send(self, t: int, j: int, ch: str, cid: str, name: str, promo: str,
              base: float) -> None:
        c, p, rng = self.contacts, self.people, self.rng
        addr = c.address[ch][j]
        key = f"{ch}:{addr}"
        if key not in self.address_emitted:
            self.address_emitted.add(key)
            self.landing.record("messaging", "messaging_address", key,
                                self.address_owner.get(key, ""))
        i = int(c.person[j])
        now = t + (base + rng.uniform(0, 3600)) / 86400
        events: list[tuple[str, float, str]] = [("sent", now, "")]
        b = int(c.bounce[ch][j])
        delivered = False
        if b == 1:
            now += rng.uniform(1, 60) / 86400
            reason = BOUNCE_REASONS_HARD if ch == "email" else PHONE_BOUNCE
            events.append(("bounced_hard", now, reason[int(rng.integers(0, len(reason)))]))
            c.hard_bounces[ch][j] += 1
            if c.hard_bounces[ch][j] >= 2:
                c.suppressed[ch][j] = True  # the ESP stops after the second hard bounce
        elif b == 2 and rng.random() < 0.7:
            now += rng.uniform(1, 600) / 86400
            reason = BOUNCE_REASONS_SOFT if ch == "email" else PHONE_BOUNCE[1:]
            events.append(("bounced_soft", now, reason[int(rng.integers(0, len(reason)))]))
        elif rng.random() < 0.98:
            now += rng.uniform(1, 120) / 86400
            events.append(("delivered", now, ""))
            delivered = True
        if delivered and i >= 0:
            alive = p.life_start[i] <= t < p.life_end[i] and not p.never_active[i]
            reads = {"email": 1.0, "sms": 0.0, "whatsapp": 1.3, "telegram": 1.2}[ch]
            if p.email_kind[i] == 2 and ch == "email":
                reads = 0.0
            clicked = False
            if alive and rng.random() < p.engage[i] * reads:
                now = min(now + rng.uniform(60, 40000) / 86400, t + 86000 / 86400)
                events.append(("opened", now, ""))
                self.touch(i, t)
                if rng.random() < 0.25:
                    now = min(now + rng.uniform(5, 300) / 86400, t + 86399 / 86400)
                    events.append(("clicked", now, ""))
                    clicked = True
            elif alive and ch == "sms" and rng.random() < p.engage[i] * 0.15:
                now = min(now + rng.uniform(60, 20000) / 86400, t + 86399 / 86400)
                events.append(("clicked", now, ""))
                clicked = True
            if clicked:
                self.last_click[i] = t
                self.last_click_promo[i] = promo
                self.touch(i, t)
            unsub = 0.004 + (0.01 if not alive else 0.0)
            if ch in ("email", "sms") and rng.random() < unsub:
                now = min(now + rng.uniform(5, 600) / 86400, t + 86399 / 86400)
                events.append(("unsubscribed", now, ""))
                c.suppressed[ch][j] = True
                self.pending[t + 1]["consent_off"].append((j, ch))
            elif ch in ("whatsapp", "telegram") and rng.random() < (
                    0.01 + (0.05 if not alive else 0.0)):
                now = min(now + rng.uniform(5, 3600) / 86400, t + 86399 / 86400)
                events.append(("not_interested", now, ""))
        for etype, when, reason in events:
            self.msg_seq += 1
            self.rows["messaging"].append([
                str(self.msg_seq), ch, addr, cid, name, promo, etype,
                self.iso(min(when, t + 86399 / 86400)), reason])

    # -- surveys -------------------------------------------------------------------------
    def _surveys(self, t: int, alive: np.ndarray, d: date) -> None:
        p, rng, c = self.people, self.rng, self.contacts
        with_contact = alive[p.contact[alive] >= 0]
        quiz = with_contact[rng.random(len(with_contact)) < 0.3 / 365]
        bday = with_contact[rng.random(len(with_contact)) < 0.1 / 365]
        for i in quiz.tolist():
            self._response(t, i, "style_quiz")
        for i in bday.tolist():
            self._response(t, i, "birthday_form")
        for j in self.pending[t]["quiz"]:
            self._response(t, int(c.person[j]), "style_quiz", at=float(c.created[j]))
        if d.day == 15:
            # Reactivation poll: people with a contact who have not bought for half a year.
            cand = np.flatnonzero((p.contact >= 0) & ~p.never_active
                                  & (self.last_purchase < t - 180) & (self.start_day <= t))
            for i in cand[rng.random(len(cand)) < 0.03].tolist():
                self._response(t, i, "reactivation_poll")

    def _response(self, t: int, i: int, form: str, at: float | None = None) -> None:
        p, rng = self.people, self.rng
        self.survey_seq += 1
        rid = f"srv-{self.survey_seq:08d}"
        r = rng.random(6)
        email = email_shape(p.email[i], int(r[0] * 6)) if p.email[i] and r[1] < 0.9 else ""
        if email and r[1] < 0.05:
            email = JUNK_EMAILS[0]
        phone = phone_shape(p.phone[i], int(r[2] * 9)) if p.phone[i] and r[3] < 0.5 else ""
        name = (p.first[i], f"{p.first[i]} {p.last[i]}", p.first_latin[i].lower(),
                f"{p.last[i]} {p.first[i]}")[int(r[4] * 4)]
        birthday = ""
        interests: list[str] = []
        answer = ""
        if form == "birthday_form":
            birthday = birthday_text(p.birth_date[i], int(r[5] * 6))
        elif form == "style_quiz":
            k = 1 + int(rng.integers(0, 3))
            interests = sorted({INTERESTS[int(x)] for x in rng.integers(0, len(INTERESTS), k)})
            answer = ("casual", "classic", "sport", "romantic")[int(r[5] * 4)]
        elif form == "feedback":
            answer = ("Всё понравилось, спасибо!", "Долгая доставка", "Размер не подошёл",
                      "Отличный магазин", "")[int(r[5] * 5)]
        else:
            dead = p.life_end[i] <= t
            w = (0.55, 0.35) if dead else (0.2, 0.4)
            answer = ("not interested" if r[5] < w[0] else
                      "maybe later" if r[5] < w[0] + w[1] else "yes")
        when = at if at is not None else t + float(np.clip(rng.normal(0.6, 0.15), 0.05, 0.99))
        self.rows["surveys"].append({
            "response_id": rid, "form_id": form, "submitted_at": self.iso(when),
            "email": email or None, "phone": phone or None, "name": name,
            "birthday": birthday or None, "interests": interests, "answer": answer or None})
        self.landing.record("surveys", "survey_response", rid, p.person_id[i])
        self.touch(i, t)

    # -- things scheduled earlier --------------------------------------------------------
    def _pending(self, t: int) -> None:
        rng = self.rng
        todo = self.pending.get(t, {})
        for row, status in todo.get("order_status", []):
            new = dict(row)
            new["status"] = status
            new["updated_at"] = self.iso(t + rng.uniform(0.3, 0.9))
            self.rows["orders"].append(new)
        for ret in todo.get("pos_return", []):
            self._receipt(t, ret["i"], original=ret)
        for i in todo.get("feedback", []):
            self._response(t, i, "feedback")

    def _loyalty(self, t: int) -> None:
        cards, p = self.cards, self.people
        lo = 0 if t == 0 else int(np.searchsorted(self.card_issued_sorted, t))
        hi = int(np.searchsorted(self.card_issued_sorted, t + 1))
        todo: dict[int, float] = {}
        for k in range(lo, hi):
            todo[k] = float(cards.issued[k]) if cards.issued[k] >= 0 else -1.0
        for k, when in self.card_updates.items():
            todo[k] = when
        blocked = np.flatnonzero((cards.blocked_day >= t) & (cards.blocked_day < t + 1))
        for k in blocked.tolist():
            cards.status[k] = "blocked"
            todo[k] = float(cards.blocked_day[k])
        for k in sorted(todo):
            if cards.issued[k] >= t + 1:
                continue
            if not self.card_seen[k]:
                self.card_seen[k] = True
                self.landing.record("loyalty", "loyalty_card", cards.number[k],
                                    p.person_id[cards.holder[k]])
            when = todo[k]
            if when < 0:  # in the first snapshot: last change some time before it
                when = float(cards.issued[k]) * 0.5
            when = max(when, float(cards.issued[k]))
            self.rows["cards"].append([
                cards.number[k], cards.holder_name[k], cards.phone[k], cards.email[k],
                self.iso(cards.issued[k]), self.stores.store_id[cards.store[k]],
                str(int(cards.points[k])), cards.status[k], self.iso(when)])

    # -- the end -------------------------------------------------------------------------
    def finish(self) -> dict:
        p = self.people
        truth = self.out / "_truth"
        last_t = self.n_gen - 1
        end = self.start + timedelta(days=last_t)
        with open(truth / "people.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["person_id", "home_time_zone", "current_time_zone", "moved_at",
                        "is_inactive", "is_never_active", "household_id"])
            for i in range(p.n):
                moved = bool(p.moved[i] and p.move_day[i] <= last_t)
                moved_at = (self.start + timedelta(days=int(p.move_day[i]))).isoformat() \
                    if moved else ""
                inactive = self.last_active[i] < last_t - 364
                never = bool(p.never_active[i] or (p.life_start[i] >= 0 and
                                                   self.last_active[i] < 0))
                w.writerow([p.person_id[i], p.home_tz[i],
                            p.current_tz[i] if moved else p.home_tz[i], moved_at,
                            str(bool(inactive)).lower(), str(never).lower(),
                            f"HH{p.household[i] + 1:06d}" if p.household[i] >= 0 else ""])
        with open(truth / "junk_identifiers.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["identifier_type", "value", "why"])
            for e in JUNK_EMAILS:
                w.writerow(["email", e, "placeholder typed when a customer gives no e-mail"])
            for ph in JUNK_PHONES:
                w.writerow(["phone", ph, "placeholder typed when a customer gives no phone"])
            for s in range(len(self.stores.store_id)):
                for form in (self.stores.phone_written[s], self.stores.phone_digits[s]):
                    w.writerow(["phone", form,
                                f"the store's own number ({self.stores.store_id[s]}) typed "
                                "by cashiers"])
        self.landing.close()
        manifest = {
            "generator": "clientbase.orchestration.generator",
            "seed": self.seed, "size": self.size.name,
            "start_date": self.start.isoformat(), "end_date": end.isoformat(),
            "days": self.n_gen, "full_window_days": self.days,
            "inactive_cutoff_date": (end - timedelta(days=364)).isoformat(),
            "counts": {"people": int(p.n), "crm_contacts": int(self.contacts.n),
                       "loyalty_cards": int(self.cards.n), "stores": len(self.stores.store_id),
                       "products": len(self.products.product_id),
                       "households": int((p.household >= 0).sum() // 2),
                       "moved_people": int((p.moved & (p.move_day <= last_t)).sum())},
            "files": {k: {"files": v.files, "rows": v.rows, "malformed": v.malformed,
                          "exact_duplicates": v.duplicates}
                      for k, v in sorted(self.landing.stats.items())},
        }
        (truth / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False)
                                             + "\n", encoding="utf-8")
        return manifest


def _ua(k: int) -> str:
    from .pools import USER_AGENTS
    return USER_AGENTS[k % len(USER_AGENTS)]


def _url(etype: str, product: str | None) -> str:
    if product:
        return f"{SHOP_URL}/p/{product}" + ("?add=1" if etype == "add_to_cart" else "")
    return {"page_view": f"{SHOP_URL}/", "checkout": f"{SHOP_URL}/checkout",
            "login": f"{SHOP_URL}/account/login", "identify": f"{SHOP_URL}/subscribe"}.get(
        etype, f"{SHOP_URL}/")


def generate(out_dir: str | Path, size: str = "S", seed: int = 42,
             end_date: date = cfg.DEFAULT_END_DATE, days: int | None = None,
             progress: bool = False) -> dict:
    """Generate a landing folder; returns the manifest (also in `_truth/manifest.json`).

    `days` limits the run to the first N days of the window (to time big sizes cheaply).
    """
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty: the generator only writes into a new folder")
    out.mkdir(parents=True, exist_ok=True)
    spec = cfg.SIZES[size]
    n_gen = spec.days if days is None else max(1, min(days, spec.days))
    started = time.perf_counter()
    world = World(out, spec, seed, end_date, n_gen)
    lw = world.landing
    lw.write_reference("stores.csv", STORE_COLUMNS, world.stores.rows(world.start))
    lw.write_reference("products.csv", PRODUCT_COLUMNS, world.products.rows)
    steps = range(n_gen)
    if progress:
        from tqdm import tqdm
        steps = tqdm(steps, desc=f"generating size {size}", unit="day")
    for t in steps:
        world.day(t)
    manifest = world.finish()
    manifest_elapsed = time.perf_counter() - started
    world.elapsed = manifest_elapsed
    return manifest
