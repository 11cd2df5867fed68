"""Day-by-day simulation of the demo retailer, streamed to landing files with bounded memory."""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

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
from .pools import USER_AGENTS
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
from .vector import iso_times, uuids
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
PAGE_URLS = {"page_view": f"{SHOP_URL}/", "checkout": f"{SHOP_URL}/checkout",
             "login": f"{SHOP_URL}/account/login", "identify": f"{SHOP_URL}/subscribe"}
INTERESTS = ("dresses", "jeans", "shoes", "accessories", "skincare", "makeup", "fragrance",
             "haircare", "dogs", "cats")
GENERIC_PROMOS = ("WELCOME10", "SALE15", "FREESHIP", "BDAY20")
BOUNCE_REASONS_HARD = ("550 5.1.1 User unknown", "550 5.1.2 Domain not found",
                       "550 Mailbox does not exist")
BOUNCE_REASONS_SOFT = ("452 4.2.2 Mailbox full", "421 4.7.0 Try again later")
PHONE_BOUNCE = ("Invalid number", "Number not reachable")
VPN_EXIT = ("NL", "Europe/Amsterdam")
ANON_ZONES = ("Europe/Moscow", "Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk",
              "Europe/Samara", "America/New_York", "Europe/Berlin")
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
        self.cookie_id = uuids(rng, n_cookies).astype(object)
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
        self.product_urls = (f"{SHOP_URL}/p/" + self.products.product_id).astype(object)
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
        # Each distinct ESP address is one truth record; contacts sharing it point to the
        # first one (canonical). Junk addresses, or ones shared by two people, own nobody.
        junk_addr = set(JUNK_EMAILS) | {esp_phone(x) for x in JUNK_PHONES} | {
            "+" + esp_phone(x) for x in JUNK_PHONES}
        self.address_canon: dict[str, np.ndarray] = {}
        self.address_owner: dict[str, np.ndarray] = {}
        self.address_recorded: dict[str, np.ndarray] = {}
        pid_of = np.where(c.person >= 0, p.person_id[np.maximum(c.person, 0)], "")
        for ch in CHANNELS:
            addrs = c.address[ch]
            codes, uniques = pd.factorize(addrs)
            canon_of_code = np.full(len(uniques), -1, dtype=np.int64)
            order = np.arange(c.n)[::-1]
            canon_of_code[codes[order]] = order  # last write wins = first contact
            canon = canon_of_code[codes]
            owner = np.full(c.n, "", dtype=object)
            first_owner = pid_of[canon]
            clash = np.zeros(len(uniques), bool)
            np.logical_or.at(clash, codes, pid_of != first_owner)
            ok = ~clash[codes] & ~np.isin(addrs, list(junk_addr))
            owner[canon[ok]] = first_owner[ok]
            self.address_canon[ch] = canon
            self.address_owner[ch] = owner
            self.address_recorded[ch] = np.zeros(c.n, bool)
        self.pending: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        self.order_seq = 5_000_000
        self.receipt_seq = 0
        self.msg_seq = 0
        self.survey_seq = 0
        self.card_seen = np.zeros(self.cards.n, bool)
        self.contact_seen = np.zeros(c.n, bool)
        self._tz_cache: dict[tuple[str, int], int] = {}

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

    def offsets(self, zones: np.ndarray, t: int) -> np.ndarray:
        """UTC offsets in seconds of many zones on day t (each distinct zone looked up once)."""
        codes, uniques = pd.factorize(zones)
        return np.array([self.offset(z, t) for z in uniques], dtype=np.int64)[codes]

    # -- products ------------------------------------------------------------------------
    def pick_products(self, persons: np.ndarray) -> np.ndarray:
        """One product per entry of `persons`: 70 % from the person's favourite department."""
        rng = self.rng
        n = len(persons)
        out = np.empty(n, dtype=np.int64)
        u = rng.random(n)
        dept = np.where(rng.random(n) < 0.7, self.people.l1_pref[persons], -1)
        for k, (ids, cum) in enumerate(self.dept_products):
            m = dept == k
            out[m] = ids[np.minimum(np.searchsorted(cum, u[m]), len(ids) - 1)]
        m = dept < 0
        out[m] = np.minimum(np.searchsorted(self.all_cum, u[m]), len(self.all_cum) - 1)
        return out

    def baskets(self, persons: np.ndarray, promo_pct: np.ndarray) -> dict[str, np.ndarray]:
        """Lines of one basket per person: `owner` is the basket (index into persons)."""
        rng = self.rng
        k = np.minimum(1 + rng.poisson(0.9, len(persons)), 6)
        owner = np.repeat(np.arange(len(persons)), k)
        starts = np.concatenate([[0], np.cumsum(k)[:-1]])
        number = np.arange(len(owner)) - np.repeat(starts, k) + 1
        prod = self.pick_products(persons[owner])
        qty = np.array([1, 1, 1, 1, 1, 1, 2, 2, 3])[rng.integers(0, 9, len(owner))]
        price = self.products.price[prod]
        gross = np.round(price * qty, 2)
        sale = np.where(rng.random(len(owner)) < 0.15, np.round(gross * 0.2, 2), 0.0)
        promo = np.round((gross - sale) * promo_pct[owner], 2)
        disc = np.round(sale + promo, 2)
        return {"owner": owner, "number": number, "product": prod, "quantity": qty,
                "unit_price": price, "discount": disc, "amount": np.round(gross - disc, 2),
                "subtotal": np.round(np.bincount(owner, gross, len(persons)), 2),
                "discount_total": np.round(np.bincount(owner, disc, len(persons)), 2),
                "count": k, "start": starts}

    # -- the day -------------------------------------------------------------------------
    def day(self, t: int) -> None:
        d = self.start + timedelta(days=t)
        self.rows: dict[str, list] = defaultdict(list)
        self.parts: dict[str, list[dict]] = defaultdict(list)
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
        lw.write(CRM_CONTACTS, d, self._joined("crm", CRM_CONTACTS.columns))
        lw.write(SHOP_ORDERS, d, r["orders"])
        lw.write(SHOP_ORDER_LINES, d, self._joined("order_lines", SHOP_ORDER_LINES.columns))
        lw.write(POS_RECEIPTS, d, r["receipts"])
        lw.write(POS_RECEIPT_LINES, d, self._joined("receipt_lines", POS_RECEIPT_LINES.columns))
        lw.write(LOYALTY_CARDS, d, self._joined("cards", LOYALTY_CARDS.columns))
        lw.write(WEB_EVENTS, d, self._joined("web", WEB_EVENTS.columns))
        lw.write(MESSAGING_EVENTS, d, self._joined("messaging", MESSAGING_EVENTS.columns))
        lw.write(SURVEY_RESPONSES, d, r["surveys"])
        self.pending.pop(t, None)

    def _joined(self, name: str, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
        parts = self.parts.get(name, [])
        if not parts:
            return {c: np.array([], dtype=object) for c in columns}
        return {c: np.concatenate([np.asarray(part[c], dtype=object) for part in parts])
                for c in columns}

    def touch(self, person: int, t: int) -> None:
        if person >= 0 and t > self.last_active[person]:
            self.last_active[person] = t

    # -- CRM -----------------------------------------------------------------------------
    def contact_columns(self, idx: np.ndarray) -> dict[str, np.ndarray]:
        """Full current rows of contacts `idx`, column-wise (a CRM export repeats them all)."""
        c = self.contacts

        def stamps(x: np.ndarray) -> np.ndarray:
            text = iso_times(self.start, np.nan_to_num(x)).astype(object)
            text[np.isnan(x)] = ""
            return text

        cols = {"contact_id": c.contact_id[idx], "first_name": c.first[idx],
                "last_name": c.last[idx], "first_name_latin": c.first_latin[idx],
                "last_name_latin": c.last_latin[idx], "email": c.email[idx],
                "phone": c.phone[idx], "birth_date": c.birth_date[idx],
                "gender": c.gender[idx], "city": c.city[idx],
                "country_code": c.country_code[idx], "time_zone": c.time_zone[idx],
                "lead_source": c.lead_source[idx], "tags": c.tags[idx],
                "telegram_id": c.telegram_id[idx], "vk_id": c.vk_id[idx]}
        for ch in CHANNELS:
            cols[f"consent_{ch}"] = c.consent[ch][idx]
            cols[f"consent_{ch}_at"] = stamps(c.consent_at[ch][idx])
        cols["created_at"] = stamps(c.created[idx])
        cols["updated_at"] = stamps(c.updated[idx])
        return cols

    def _crm(self, t: int) -> None:
        c, rng = self.contacts, self.rng
        lo = 0 if t == 0 else int(np.searchsorted(self.contact_created_sorted, t))
        hi = int(np.searchsorted(self.contact_created_sorted, t + 1))
        new = self.contact_order[lo:hi]
        old = new[c.created[new] < 0]
        # The first export is a full snapshot: the last edits happened some time before it.
        c.updated[old] = c.created[old] * (1 - 0.9 * rng.random(len(old)))
        quiz = new[(c.lead_source[new] == "quiz") & (c.person[new] >= 0) & (c.created[new] >= 0)]
        self.pending[t]["quiz"].extend(quiz.tolist())
        emitted: dict[int, None] = dict.fromkeys(new.tolist())
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
        idx = np.fromiter(emitted, dtype=np.int64, count=len(emitted))
        idx = idx[c.created[idx] <= t + 1]
        fresh = idx[~self.contact_seen[idx]]
        self.contact_seen[fresh] = True
        pids = np.where(c.person[fresh] >= 0, self.people.person_id[np.maximum(c.person[fresh],
                                                                                0)], "")
        self.landing.records(zip(["crm"] * len(fresh), ["crm_contact"] * len(fresh),
                                 c.contact_id[fresh], pids, strict=True))
        self.parts["crm"].append(self.contact_columns(idx))

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
        self._receipts(t, buyers[in_store])
        online = buyers[~in_store]
        # QA test orders that belong to nobody ride along as person -1.
        n_test = int(rng.poisson(0.03))
        self._orders(t, np.concatenate([online, np.full(n_test, -1)]).astype(np.int64))

    def _orders(self, t: int, persons: np.ndarray) -> None:
        rng, p, c = self.rng, self.people, self.contacts
        n = len(persons)
        if n == 0:
            return
        real = persons >= 0
        pe = np.maximum(persons, 0)
        promos = np.full(n, "", dtype=object)
        pct = np.zeros(n)
        clicked = real & (self.last_click[pe] >= t - 14) & (self.last_click_promo[pe] != "") \
            & (rng.random(n) < 0.6)
        promos[clicked] = self.last_click_promo[pe[clicked]]
        pct[clicked] = 0.15
        generic = ~clicked & (rng.random(n) < 0.07)
        promos[generic] = np.array(GENERIC_PROMOS, dtype=object)[
            rng.integers(0, len(GENERIC_PROMOS), int(generic.sum()))]
        pct[generic] = 0.10
        b = self.baskets(pe, pct)
        sess_idx = np.flatnonzero(real)
        carts = [b["product"][b["start"][k]:b["start"][k] + b["count"][k]]
                 for k in sess_idx.tolist()]
        cookies, ends = self._sessions(t, persons[real], carts)
        cookie_of = np.full(n, None, dtype=object)
        end_of = t + rng.uniform(0.3, 0.7, n)
        cookie_of[sess_idx] = cookies
        end_of[sess_idx] = ends
        r = rng.random((n, 8))
        order_ids = []
        for k in range(n):
            i = int(persons[k])
            self.order_seq += 1
            order_id = str(self.order_seq)
            order_ids.append(order_id)
            promo = promos[k]
            if promo:
                promo = promo if r[k, 0] < 0.6 else promo.lower() if r[k, 0] < 0.85 \
                    else f" {promo.title()}"
            subtotal, discount = float(b["subtotal"][k]), float(b["discount_total"][k])
            shipping = 0.0 if subtotal - discount >= 3000 else 299.0
            user_id, email, phone, fn, ln = None, "", "", "", ""
            created = min(float(end_of[k]) + 30 / 86400, t + 86399 / 86400)
            if i >= 0:
                j, jd = int(p.contact[i]), int(p.dup_contact[i])
                if j >= 0 and c.created[j] <= created and r[k, 1] < 0.7:
                    if jd >= 0 and c.created[jd] <= created and r[k, 2] < 0.25:
                        j = jd
                    user_id = c.contact_id[j]
                    email, phone = c.email[j].strip(), c.phone[j]
                    fn, ln = c.first[j], c.last[j]
                else:
                    email = guest_email(p, i, r[k, 3], r[k, 4])
                    phone = (phone_shape(p.phone[i], int(r[k, 5] * 9)) if r[k, 6] < 0.7 else
                             JUNK_PHONES[0] if r[k, 6] < 0.74 else "")
                    fn, ln = p.first[i], p.last[i]
                    if r[k, 7] < 0.08:
                        fn = name_typo(fn, r[k, 5])
                    elif r[k, 7] > 0.95:
                        fn, ln = p.first_latin[i], p.last_latin[i]
                self.touch(i, t)
                self.last_purchase[i] = t
            else:
                email, fn, ln, phone = JUNK_EMAILS[0], "Тест", "Тестов", JUNK_PHONES[0]
            row = {"order_id": order_id, "created_at": self.iso(created),
                   "updated_at": self.iso(created), "status": "completed", "user_id": user_id,
                   "email": email or None, "phone": phone or None, "first_name": fn or None,
                   "last_name": ln or None, "promo_code": promo or None,
                   "channel": "app" if r[k, 2] > 0.65 else "web", "currency": "RUB",
                   "subtotal_amount": subtotal, "discount_amount": discount,
                   "shipping_amount": shipping,
                   "total_amount": round(subtotal - discount + shipping, 2),
                   "anonymous_id": cookie_of[k]}
            self.rows["orders"].append(row)
            self.landing.record("shop", "shop_order", order_id,
                                p.person_id[i] if i >= 0 else "")
            fate = rng.random()
            if fate < 0.04:
                self.pending[t + int(rng.integers(1, 3))]["order_status"].append(
                    (row, "cancelled"))
            elif fate < 0.11:
                self.pending[t + int(rng.integers(5, 31))]["order_status"].append(
                    (row, "returned"))
            if i >= 0 and rng.random() < 0.03:
                self.pending[t + 1]["feedback"].append(i)
        oid = np.array(order_ids, dtype=object)[b["owner"]]
        self.parts["order_lines"].append({
            "order_line_id": [f"{o}-{m}" for o, m in zip(oid, b["number"].tolist(), strict=True)],
            "order_id": oid, "product_id": self.products.product_id[b["product"]],
            "quantity": b["quantity"], "unit_price": b["unit_price"],
            "discount_amount": b["discount"], "line_amount": b["amount"]})

    def _receipts(self, t: int, persons: np.ndarray) -> None:
        rng, p, st, cards = self.rng, self.people, self.stores, self.cards
        n = len(persons)
        if n == 0:
            return
        b = self.baskets(persons, np.zeros(n))
        r = rng.random((n, 8))
        local = rng.uniform(10 * 3600, 21.9 * 3600, n)
        rids = []
        totals, discounts = np.zeros(n), np.zeros(n)
        for k in range(n):
            i = int(persons[k])
            s = int(p.store[i])
            card = int(p.card_of[i])
            card_ok = (card >= 0 and cards.issued[card] <= t + 1 and cards.blocked_day[card] > t
                       and r[k, 0] < 0.85)
            subtotal, line_disc = float(b["subtotal"][k]), float(b["discount_total"][k])
            card_disc = round((subtotal - line_disc) * 0.05, 2) if card_ok else 0.0
            total = round(subtotal - line_disc - card_disc, 2)
            totals[k], discounts[k] = total, round(line_disc + card_disc, 2)
            card_txt = cards.number[card] if card_ok else ""
            if card_ok and r[k, 1] < 0.08:
                card_txt = f" {card_txt[:4]} {card_txt[4:8]} {card_txt[8:]}"
            phone = ""
            u = r[k, 2]
            if card_ok:
                if u < 0.08:
                    phone = phone_shape(p.phone[i], int(r[k, 3] * 9))
            elif u < 0.30:
                phone = phone_shape(p.phone[i], int(r[k, 3] * 9))
            elif u < 0.36:
                phone = st.phone_written[s] if r[k, 3] < 0.5 else st.phone_digits[s]
            elif u < 0.39:
                phone = JUNK_PHONES[int(r[k, 3] * 2)]
            payment = ("card", "card", "card", "sbp", "cash")[int(r[k, 4] * 5)]
            if card_ok:
                cards.points[card] += int(total // 100)
                self.card_updates[card] = t + (local[k] - self.offset(st.time_zone[s], t)) / 86400
            self.last_purchase[i] = t
            rid = self._receipt_row(t, i, s, card_txt, phone, "sale", total, discounts[k],
                                    payment, local[k], "")
            rids.append(rid)
            if r[k, 5] < 0.04:
                first_line = int(b["start"][k])
                self.pending[t + int(rng.integers(2, 21))]["pos_return"].append(
                    {"i": i, "store": s, "id": rid, "card": card_txt.strip(), "phone": phone,
                     "payment": payment, "card_idx": card if card_ok else -1,
                     "product": int(b["product"][first_line]),
                     "quantity": int(b["quantity"][first_line]),
                     "unit_price": float(b["unit_price"][first_line]),
                     "discount": float(b["discount"][first_line]),
                     "amount": float(b["amount"][first_line])})
            if r[k, 6] < 0.03:
                self.pending[t + 1]["feedback"].append(i)
        self._receipt_lines(np.array(rids, dtype=object)[b["owner"]], b["number"], b["product"],
                            b["quantity"], b["unit_price"], b["discount"], b["amount"])

    def _receipt_row(self, t: int, i: int, s: int, card_txt: str, phone: str, rtype: str,
                     total: float, discount: float, payment: str, local: float,
                     original: str) -> str:
        st, rng = self.stores, self.rng
        self.receipt_seq += 1
        rid = f"R{self.receipt_seq:09d}"
        d = self.start + timedelta(days=t)
        secs = int(local)
        stamp = f"{d:%d.%m.%Y} {secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
        self.rows["receipts"].append([
            rid, st.store_id[s], f"K{int(rng.integers(1, 5))}",
            f"{st.store_id[s]}-C{int(rng.integers(1, 13)):02d}", card_txt, phone, rtype,
            f"{total:.2f}", f"{discount:.2f}", payment, stamp, original])
        self.landing.record("pos", "pos_receipt", rid, self.people.person_id[i])
        self.touch(i, t)
        return rid

    def _receipt_lines(self, rid, number, product, qty, price, disc, amount) -> None:
        self.parts["receipt_lines"].append({
            "receipt_id": rid, "line_number": np.asarray(number).astype(str),
            "product_id": self.products.product_id[np.asarray(product)],
            "quantity": np.asarray(qty).astype(str),
            "unit_price": _money(price), "discount_amount": _money(disc),
            "line_amount": _money(amount)})

    def _pos_return(self, t: int, ret: dict) -> None:
        cards = self.cards
        local = float(self.rng.uniform(10 * 3600, 21.9 * 3600))
        card = ret["card_idx"]
        if card >= 0:
            cards.points[card] = max(0, cards.points[card] - int(ret["amount"] // 100))
            self.card_updates[card] = t + 0.5
        rid = self._receipt_row(t, ret["i"], ret["store"], ret["card"], ret["phone"], "return",
                                ret["amount"], ret["discount"], ret["payment"], local,
                                ret["id"])
        self._receipt_lines(np.array([rid], dtype=object), [1], [ret["product"]],
                            [ret["quantity"]], [ret["unit_price"]], [ret["discount"]],
                            [ret["amount"]])

    # -- web -----------------------------------------------------------------------------
    def _sessions(self, t: int, persons: np.ndarray,
                  carts: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Browsing sessions of `persons` on day t; with `carts` (product indices per
        session) each ends in a checkout. Returns each session's cookie and end time."""
        p, rng, c = self.people, self.rng, self.contacts
        n = len(persons)
        if n == 0:
            return np.array([], dtype=object), np.array([])
        k = p.cookie_count[persons]
        first = p.cookie_start[persons]
        pick = np.where((k == 1) | (rng.random(n) < 0.7), 0,
                        np.floor(rng.random(n) * k).astype(np.int64))
        moved_now = p.moved[persons] & (p.move_day[persons] <= t)
        ck = np.where(moved_now & (k > 1), first + k - 1, first + pick)  # new laptop abroad
        fresh = ~self.cookie_used[ck]
        if fresh.any():
            uniq, pos = np.unique(ck[fresh], return_index=True)
            owners = persons[fresh][pos]
            for q in np.argsort(pos, kind="stable").tolist():
                self.landing.record("web", "web_cookie", self.cookie_id[uniq[q]],
                                    p.person_id[owners[q]])
            self.cookie_used[uniq] = True
        tz = np.where(moved_now, p.current_tz[persons], p.home_tz[persons]).astype(object)
        country = np.array([TZ_COUNTRY.get(z, "RU") for z in tz], dtype=object)
        vpn = rng.random(n) < 0.02
        tz[vpn], country[vpn] = VPN_EXIT[1], VPN_EXIT[0]
        offs = self.offsets(tz, t)
        local = np.clip(rng.normal(20.5 * 3600, 3 * 3600, n), 7 * 3600, 23.9 * 3600)
        start = t + np.clip(local - offs, 0, 86000) / 86400
        j = p.contact[persons]
        je = np.maximum(j, 0)
        has_acc = (j >= 0) & (c.created[je] <= start)
        ident = self.cookie_identified[ck]
        u1, u2 = rng.random(n), rng.random(n)
        login = ~ident & has_acc & (u1 < 0.6)
        identify = ~ident & ~login & (p.email[persons] != "") & (u2 < 0.25)
        logged = login | (ident & has_acc & (u2 < 0.6))
        self.cookie_identified[ck[login | identify]] = True
        user_id = np.where(logged, c.contact_id[je], None)
        # Event segments: (session, order inside the session, type, product, email).
        sess, order, etype, prod, email = [], [], [], [], []

        def seg(s_idx, o, kind, products=None, emails=None):
            sess.append(s_idx)
            order.append(np.broadcast_to(o, len(s_idx)).astype(np.int64))
            etype.append(np.full(len(s_idx), kind, dtype=object))
            prod.append(np.full(len(s_idx), -1) if products is None else products)
            email.append(np.full(len(s_idx), None, dtype=object) if emails is None else emails)

        seg(np.arange(n), 0, "page_view")
        li = np.flatnonzero(login)
        seg(li, 1, "login", emails=np.array([c.email[x].strip() or None for x in je[li]],
                                            dtype=object))
        ii = np.flatnonzero(identify)
        shapes = rng.integers(0, 6, len(ii))
        seg(ii, 1, "identify", emails=np.array(
            [email_shape(p.email[x], int(sh)) for x, sh in zip(persons[ii], shapes,
                                                                 strict=True)], dtype=object))
        has_cart = np.zeros(n, bool)
        if carts is not None:
            has_cart[:] = True
        n_views = rng.poisson(1.0, n) + has_cart
        vs = np.repeat(np.arange(n), n_views)
        within = np.arange(len(vs)) - np.repeat(np.cumsum(n_views) - n_views, n_views)
        vprod = self.pick_products(persons[vs])
        seg(vs, 2 + 2 * within, "product_view", products=vprod)
        add = rng.random(len(vs)) < 0.15
        seg(vs[add], 3 + 2 * within[add], "add_to_cart", products=vprod[add])
        if carts is not None:
            lens = np.array([len(x) for x in carts], dtype=np.int64)
            cs = np.repeat(np.arange(n), lens)
            cw = np.arange(len(cs)) - np.repeat(np.cumsum(lens) - lens, lens)
            cp = np.concatenate(carts) if len(carts) else np.array([], dtype=np.int64)
            seg(cs, 1000 + cw, "add_to_cart", products=cp)
            seg(np.arange(n), 5000, "checkout")
        sess_a = np.concatenate(sess)
        order_a = np.concatenate(order)
        srt = np.lexsort((order_a, sess_a))
        sess_a = sess_a[srt]
        etype_a = np.concatenate(etype)[srt]
        prod_a = np.concatenate(prod)[srt]
        email_a = np.concatenate(email)[srt]
        gaps = rng.uniform(5, 90, len(sess_a)) / 86400
        csum = np.cumsum(gaps)
        first_pos = np.searchsorted(sess_a, np.arange(n))
        base = csum[first_pos] - gaps[first_pos]
        times = np.minimum(start[sess_a] + csum - base[sess_a], t + 86399 / 86400)
        last_pos = np.concatenate([first_pos[1:], [len(sess_a)]]) - 1
        self._web_part(t, etype_a, prod_a, self.cookie_id[ck[sess_a]], user_id[sess_a],
                       email_a, country[sess_a], tz[sess_a],
                       self.cookie_ua[ck[sess_a]], times)
        self.last_active[persons] = t
        return self.cookie_id[ck], times[last_pos]

    def _web_part(self, t, etype, prod, cookie, user_id, email, country, tz, ua, times) -> None:
        m = len(etype)
        has_prod = prod >= 0
        pid = np.full(m, None, dtype=object)
        pid[has_prod] = self.products.product_id[prod[has_prod]]
        # Object arrays concatenate element-wise in C: no Python call per event.
        url = pd.Series(etype).map(PAGE_URLS).fillna(f"{SHOP_URL}/").to_numpy(dtype=object)
        url[has_prod] = self.product_urls[prod[has_prod]]
        cart = has_prod & (etype == "add_to_cart")
        url[cart] = url[cart] + "?add=1"
        self.parts["web"].append({
            "event_id": uuids(self.rng, m), "event_type": etype,
            "occurred_at": iso_times(self.start, times), "anonymous_id": cookie,
            "user_id": user_id, "email": email, "product_id": pid, "page_url": url,
            "ip_country": country, "ip_time_zone": tz,
            "user_agent": np.array(USER_AGENTS, dtype=object)[ua]})

    def _browsing(self, t: int, alive: np.ndarray, season: float) -> None:
        p, rng = self.people, self.rng
        rate = p.web_rate[alive] * season
        hit = alive[rng.random(len(alive)) < -np.expm1(-rate)]
        hit = hit[p.cookie_count[hit] > 0]
        self._sessions(t, hit)
        # Visitors who never log in: their cookies belong to nobody in the truth.
        n_anon = int(rng.poisson(0.15 * len(hit) + 1))
        reuse = rng.random(n_anon) < 0.3
        fresh = uuids(rng, n_anon).astype(object)
        cookies = np.empty(n_anon, dtype=object)
        for q in range(n_anon):
            if reuse[q] and self.anon_pool:
                cookies[q] = self.anon_pool[int(rng.integers(0, len(self.anon_pool)))]
            else:
                cookies[q] = fresh[q]
                self.landing.record("web", "web_cookie", fresh[q], "")
                self.anon_pool.append(fresh[q])
        del self.anon_pool[:-500]
        zones = np.array(ANON_ZONES, dtype=object)[rng.integers(0, len(ANON_ZONES), n_anon)]
        offs = self.offsets(zones, t)
        start = t + np.clip(rng.uniform(8, 23.9, n_anon) * 3600 - offs, 0, 86000) / 86400
        n_ev = 1 + rng.poisson(1.2, n_anon)
        sess = np.repeat(np.arange(n_anon), n_ev)
        within = np.arange(len(sess)) - np.repeat(np.cumsum(n_ev) - n_ev, n_ev)
        gaps = np.cumsum(rng.uniform(5, 120, len(sess)) / 86400)
        base = (gaps - rng.uniform(5, 120, len(sess)) / 86400)[np.cumsum(n_ev) - n_ev]
        times = np.minimum(start[sess] + gaps - base[sess], t + 86399 / 86400)
        prod = np.where(within > 0, self.pick_products(
            rng.integers(0, p.n, len(sess))), -1)
        etype = np.where(within > 0, "product_view", "page_view").astype(object)
        ua = rng.integers(0, 6, n_anon)[sess]
        self._web_part(t, etype, prod, cookies[sess], np.full(len(sess), None, dtype=object),
                       np.full(len(sess), None, dtype=object),
                       np.array([TZ_COUNTRY[z] for z in zones], dtype=object)[sess],
                       zones[sess], ua, times)

    # -- messaging -----------------------------------------------------------------------
    def _messaging(self, t: int) -> None:
        c, rng = self.contacts, self.rng
        for ch, cid, name, promo in self.campaigns.get(t, []):
            eligible = np.flatnonzero((c.consent[ch] == "true") & (c.address[ch] != "")
                                      & (c.created <= t) & ~c.suppressed[ch])
            frac = (cfg.SENDS_PER_YEAR[ch] * self.size.sends_scale
                    / (365 * cfg.CAMPAIGN_DAY_PROB[ch]))
            to = eligible[rng.random(len(eligible)) < frac]
            if len(to):
                self._send(t, to, ch, cid, name, promo, float(rng.uniform(6, 10)) * 3600)

    def _send(self, t: int, to: np.ndarray, ch: str, cid: str, name: str, promo: str,
              base: float) -> None:
        """One campaign's sends to contacts `to`, with every outcome, vectorised."""
        c, p, rng = self.contacts, self.people, self.rng
        n = len(to)
        canon = self.address_canon[ch][to]
        fresh = ~self.address_recorded[ch][canon]
        if fresh.any():
            for q in np.unique(canon[fresh]).tolist():
                self.landing.record("messaging", "messaging_address",
                                    f"{ch}:{c.address[ch][q]}", self.address_owner[ch][q])
            self.address_recorded[ch][canon[fresh]] = True
        i = c.person[to]
        ie = np.maximum(i, 0)
        day_end = t + 86399 / 86400
        sent_t = t + (base + rng.uniform(0, 3600, n)) / 86400
        b = c.bounce[ch][to]
        u = rng.random((n, 6))
        hard = b == 1
        soft = (b == 2) & (u[:, 0] < 0.7)
        delivered = ~hard & ~soft & (u[:, 1] < 0.98)
        c.hard_bounces[ch][to[hard]] += 1
        c.suppressed[ch][to[hard & (c.hard_bounces[ch][to] >= 2)]] = True
        alive = (i >= 0) & (p.life_start[ie] <= t) & (p.life_end[ie] > t) & ~p.never_active[ie]
        reads = {"email": 1.0, "sms": 0.0, "whatsapp": 1.3, "telegram": 1.2}[ch]
        read_p = p.engage[ie] * reads
        if ch == "email":
            read_p = np.where(p.email_kind[ie] == 2, 0.0, read_p)  # disposable inboxes
        opened = delivered & alive & (u[:, 2] < read_p)
        clicked = opened & (u[:, 3] < 0.25)
        if ch == "sms":
            clicked = delivered & alive & (u[:, 3] < p.engage[ie] * 0.15)
        if ch in ("email", "sms"):
            leave = delivered & (u[:, 4] < 0.004 + np.where(alive, 0.0, 0.01))
        else:
            leave = delivered & (u[:, 4] < 0.01 + np.where(alive, 0.0, 0.05))
        out_t = sent_t + rng.uniform(1, 120, n) / 86400
        open_t = np.minimum(out_t + rng.uniform(60, 40000, n) / 86400, day_end)
        click_t = np.minimum(open_t + rng.uniform(5, 300, n) / 86400, day_end)
        leave_t = np.minimum(np.maximum(open_t, out_t) + rng.uniform(5, 600, n) / 86400,
                             day_end)
        reasons = np.array(BOUNCE_REASONS_HARD if ch == "email" else PHONE_BOUNCE,
                           dtype=object)[rng.integers(0, 2, n)]
        soft_reasons = np.array(BOUNCE_REASONS_SOFT if ch == "email" else PHONE_BOUNCE[1:],
                                dtype=object)[rng.integers(0, 1, n)]
        segs = [(np.arange(n), 0, "sent", sent_t, None),
                (np.flatnonzero(hard), 1, "bounced_hard", out_t, reasons),
                (np.flatnonzero(soft), 1, "bounced_soft", out_t, soft_reasons),
                (np.flatnonzero(delivered), 1, "delivered", out_t, None),
                (np.flatnonzero(opened), 2, "opened", open_t, None),
                (np.flatnonzero(clicked), 3, "clicked", click_t, None),
                (np.flatnonzero(leave), 4,
                 "unsubscribed" if ch in ("email", "sms") else "not_interested", leave_t, None)]
        who = np.concatenate([s[0] for s in segs])
        order = np.concatenate([np.full(len(s[0]), s[1]) for s in segs])
        srt = np.lexsort((order, who))
        etype = np.concatenate([np.full(len(s[0]), s[2], dtype=object) for s in segs])[srt]
        when = np.concatenate([s[3][s[0]] for s in segs])[srt]
        why = np.concatenate([np.full(len(s[0]), "", dtype=object) if s[4] is None
                              else s[4][s[0]] for s in segs])[srt]
        who = who[srt]
        m = len(who)
        self.parts["messaging"].append({
            "event_id": np.arange(self.msg_seq + 1, self.msg_seq + m + 1).astype(str),
            "channel": np.full(m, ch, dtype=object), "address": c.address[ch][to[who]],
            "campaign_id": np.full(m, cid, dtype=object),
            "campaign_name": np.full(m, name, dtype=object),
            "promo_code": np.full(m, promo, dtype=object), "event_type": etype,
            "occurred_at": iso_times(self.start, when), "bounce_reason": why})
        self.msg_seq += m
        engaged = i[opened | clicked]
        self.last_active[engaged] = t
        self.last_click[i[clicked]] = t
        self.last_click_promo[i[clicked]] = promo
        if ch in ("email", "sms"):
            c.suppressed[ch][to[leave]] = True
            self.pending[t + 1]["consent_off"].extend((int(j), ch) for j in to[leave])

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
            self._pos_return(t, ret)
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
        ks = np.array(sorted(todo), dtype=np.int64)
        when = np.array([todo[k] for k in ks.tolist()], dtype=float)
        keep = cards.issued[ks] < t + 1
        ks, when = ks[keep], when[keep]
        issued = cards.issued[ks]
        # In the first snapshot the last change happened some time before it.
        when = np.maximum(np.where(when < 0, issued * 0.5, when), issued)
        fresh = ks[~self.card_seen[ks]]
        self.card_seen[fresh] = True
        self.landing.records(zip(["loyalty"] * len(fresh), ["loyalty_card"] * len(fresh),
                                 cards.number[fresh], p.person_id[cards.holder[fresh]],
                                 strict=True))
        self.parts["cards"].append({
            "card_number": cards.number[ks], "holder_name": cards.holder_name[ks],
            "phone": cards.phone[ks], "email": cards.email[ks],
            "issued_at": iso_times(self.start, issued),
            "store_id": self.stores.store_id[cards.store[ks]],
            "points_balance": cards.points[ks].astype(str), "status": cards.status[ks],
            "updated_at": iso_times(self.start, when)})

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
            forms = dict.fromkeys([*JUNK_PHONES, *(esp_phone(x) for x in JUNK_PHONES),
                                   *("+" + esp_phone(x) for x in JUNK_PHONES)])
            for ph in forms:  # as typed, and as the ESP stores it (digits, maybe with '+')
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
            "rows": {k: v.rows for k, v in sorted(self.landing.stats.items())},
            "files": {k: {"files": v.files, "rows": v.rows, "malformed": v.malformed,
                          "exact_duplicates": v.duplicates}
                      for k, v in sorted(self.landing.stats.items())},
        }
        (truth / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False)
                                             + "\n", encoding="utf-8")
        return manifest


def _money(values) -> np.ndarray:
    return np.char.mod("%.2f", np.asarray(values, dtype=float)).astype(object)


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
    return world.finish()
