"""People, their CRM contacts, loyalty cards and browser cookies, as numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import settings as cfg
from .mess import (
    JUNK_EMAILS,
    JUNK_PHONES,
    email_shape,
    email_typo,
    esp_phone,
    name_typo,
    phone_shape,
)
from .pools import (
    COUNTRIES,
    DISPOSABLE_DOMAINS,
    KZ_CITIES,
    MOVE_DESTINATIONS,
    ROLE_LOCAL_PARTS,
    RU_CITIES,
    US_CITIES,
    ascii_fold,
    build_city_pools,
    build_company_domains,
    build_name_pools,
    transliterate,
)
from .reference import Stores

RU_MOBILE_CODES = np.array(["903", "905", "909", "915", "916", "917", "925", "926", "929", "950",
                            "952", "960", "967", "977", "985", "991", "999"], dtype=object)
KZ_MOBILE_CODES = ("701", "702", "705", "707", "747", "777")


def _digits(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    return np.char.zfill(rng.integers(0, 10**width, size=n).astype(str), width).astype(object)


@dataclass
class People:
    """One row per real person (index = person number); `person_id` is the truth key."""

    n: int
    person_id: np.ndarray
    country: np.ndarray  # index into COUNTRIES
    female: np.ndarray
    first: np.ndarray
    last: np.ndarray
    first_latin: np.ndarray
    last_latin: np.ndarray
    birth_date: np.ndarray
    city: np.ndarray
    ru_city: np.ndarray  # index into RU_CITIES or -1
    home_tz: np.ndarray
    email: np.ndarray  # canonical lower-case, '' if none
    email_kind: np.ndarray  # 0 personal, 1 role, 2 disposable
    alt_email: np.ndarray
    phone: np.ndarray  # digits with country code, '' if none
    life_start: np.ndarray  # first touch, day index (negative = before the window)
    life_end: np.ndarray  # dropout day (activity stops)
    never_active: np.ndarray
    lam: np.ndarray  # purchases per alive day
    web_rate: np.ndarray
    online_share: np.ndarray
    engage: np.ndarray  # probability to open a delivered message
    l1_pref: np.ndarray
    store: np.ndarray  # preferred store index or -1
    moved: np.ndarray
    move_day: np.ndarray
    current_tz: np.ndarray
    current_country: np.ndarray
    household: np.ndarray  # household number or -1
    card_of: np.ndarray  # card index the person uses at the till, or -1
    own_card: np.ndarray  # card index the person holds, or -1
    contact: np.ndarray  # primary contact index or -1
    dup_contact: np.ndarray  # second contact index or -1
    cookie_start: np.ndarray
    cookie_count: np.ndarray


@dataclass
class Contacts:
    """CRM contacts; mutable consent/tag state changes during the simulation."""

    n: int
    person: np.ndarray  # -1 for QA test contacts that belong to nobody
    contact_id: np.ndarray
    created: np.ndarray  # day index, float
    updated: np.ndarray
    first: np.ndarray
    last: np.ndarray
    first_latin: np.ndarray
    last_latin: np.ndarray
    email: np.ndarray
    phone: np.ndarray
    birth_date: np.ndarray
    gender: np.ndarray
    city: np.ndarray
    country_code: np.ndarray
    time_zone: np.ndarray
    lead_source: np.ndarray
    tags: np.ndarray
    telegram_id: np.ndarray
    vk_id: np.ndarray
    consent: dict[str, np.ndarray]  # channel -> '', 'true', 'false'
    consent_at: dict[str, np.ndarray]  # channel -> day index float or nan
    address: dict[str, np.ndarray]  # channel -> address as the ESP stores it
    bounce: dict[str, np.ndarray]  # channel -> 0 fine, 1 hard, 2 soft
    suppressed: dict[str, np.ndarray]  # channel -> bool (unsubscribed or hard-bounced twice)
    hard_bounces: dict[str, np.ndarray]


@dataclass
class Cards:
    n: int
    number: np.ndarray
    holder: np.ndarray
    holder_name: np.ndarray
    phone: np.ndarray
    email: np.ndarray
    issued: np.ndarray  # day index float
    store: np.ndarray
    points: np.ndarray
    blocked_day: np.ndarray  # day index or large
    status: np.ndarray


CHANNELS = ("email", "sms", "whatsapp", "telegram")


def make_people(rng: np.random.Generator, seed: int, size: cfg.Size, stores: Stores,
                n_products_l1: int) -> People:
    n, days = size.people, size.days
    names = build_name_pools(seed)
    eu_cities = build_city_pools(seed)
    company_domains = build_company_domains(seed)

    country = rng.choice(len(COUNTRIES), size=n, p=[c.share for c in COUNTRIES])
    female = rng.random(n) < 0.58
    first = np.empty(n, dtype=object)
    last = np.empty(n, dtype=object)
    for ci, c in enumerate(COUNTRIES):
        for g in (0, 1):
            m = np.flatnonzero((country == ci) & (female == (g == 0)))
            pool = names[c.locale]
            first[m] = rng.choice(pool.first[g], size=len(m))
            last[m] = rng.choice(pool.last[g], size=len(m))
    cyrillic = np.isin(country, [0, 1])
    first_latin = _latin(first, cyrillic)
    last_latin = _latin(last, cyrillic)

    age_days = rng.integers(18 * 365, 70 * 365, size=n)
    birth = np.datetime64("2026-10-31") - age_days.astype("timedelta64[D]")
    birth_date = np.datetime_as_string(birth, unit="D").astype(object)

    ru_city = np.full(n, -1)
    city = np.empty(n, dtype=object)
    home_tz = np.empty(n, dtype=object)
    ru = np.flatnonzero(country == 0)
    w = np.array([c[3] for c in RU_CITIES])
    ru_city[ru] = rng.choice(len(RU_CITIES), size=len(ru), p=w / w.sum())
    city[ru] = [RU_CITIES[i][0] for i in ru_city[ru]]
    home_tz[ru] = [RU_CITIES[i][2] for i in ru_city[ru]]
    for ci, c in enumerate(COUNTRIES[1:], start=1):
        m = np.flatnonzero(country == ci)
        if c.code == "KZ":
            k = rng.integers(0, len(KZ_CITIES), size=len(m))
            city[m] = [KZ_CITIES[i][0] for i in k]
            home_tz[m] = "Asia/Almaty"
        elif c.code == "US":
            k = rng.integers(0, len(US_CITIES), size=len(m))
            city[m] = [US_CITIES[i][0] for i in k]
            home_tz[m] = [US_CITIES[i][1] for i in k]
        else:
            city[m] = rng.choice(eu_cities[c.code], size=len(m))
            home_tz[m] = c.time_zones[0]

    email, email_kind = _emails(rng, n, country, first_latin, last_latin, birth_date,
                                company_domains)
    has_alt = (rng.random(n) < 0.10) & (email != "")
    alt_email = np.where(has_alt, _emails(rng, n, country, first_latin, last_latin, birth_date,
                                          company_domains, personal_only=True)[0], "")
    alt_email = _unique(rng, alt_email, taken=set(email.tolist()))
    phone = _phones(rng, n, country, ru_city)

    # Lifetimes: a Pareto/NBD-like world — gamma purchase rates, exponential lifetimes.
    pre = rng.random(n) >= size.new_people_share
    life_start = np.where(pre, -np.minimum(rng.exponential(2.5 * 365, n), 9 * 365) - 1,
                          rng.uniform(0, days, n))
    life_end = life_start + rng.exponential(6 * 365, n)
    never_active = np.zeros(n, bool)
    old = np.flatnonzero(pre & (life_start < -365))
    k_never = min(len(old), int(round(cfg.NEVER_ACTIVE_SHARE * n)))
    never_idx = rng.choice(old, size=k_never, replace=False)
    never_active[never_idx] = True
    life_end[never_idx] = life_start[never_idx]
    # Inactive for years: lifetimes that ended well before the last 365 days. Natural dropout
    # already produces some; top up (or revive) so they make up INACTIVE_SHARE of people.
    cut = days - 365 - 30
    dead = np.flatnonzero(pre & ~never_active & (life_end < cut))
    target = int(round(cfg.INACTIVE_SHARE * n))
    if len(dead) > target:
        revive = rng.choice(dead, size=len(dead) - target, replace=False)
        life_end[revive] = days - 365 + rng.exponential(6 * 365, len(revive))
    else:
        cand = np.flatnonzero(pre & ~never_active & (life_start < cut - 30) & (life_end >= cut))
        extra = rng.choice(cand, size=min(len(cand), target - len(dead)), replace=False)
        life_end[extra] = life_start[extra] + (cut - life_start[extra]) * rng.uniform(
            0.2, 1.0, len(extra))

    lam = rng.gamma(0.7, cfg.PURCHASES_PER_YEAR / 365 / 0.7, n)
    web_rate = rng.gamma(3.0, 2.5 / 365 / 3.0, n) + 0.5 * lam
    engage = rng.beta(1.2, 4.0, n)
    l1_pref = rng.integers(0, n_products_l1, n)

    store_cities = set(int(c) for c in np.unique(stores.city_idx))
    store = np.full(n, -1)
    for c in sorted(store_cities):
        m = np.flatnonzero(ru_city == c)
        options = np.flatnonzero(stores.city_idx == c)
        store[m] = rng.choice(options, size=len(m))
    online_share = np.where(store >= 0, rng.beta(1.3, 1.7, n), 1.0)

    # People who moved abroad: still alive at the end, they now browse and order from afar.
    mover_cand = np.flatnonzero(~never_active & (life_end > days) & (life_start < days - 250))
    k_moved = min(len(mover_cand), int(round(cfg.MOVED_SHARE * n)))
    moved_idx = rng.choice(mover_cand, size=k_moved, replace=False)
    moved = np.zeros(n, bool)
    moved[moved_idx] = True
    move_day = np.full(n, np.inf)
    move_day[moved_idx] = rng.uniform(days - 240, days - 45, k_moved)
    current_tz = home_tz.copy()
    current_country = np.array([COUNTRIES[c].code for c in country], dtype=object)
    for i in moved_idx:
        while True:
            tz, cc = MOVE_DESTINATIONS[int(rng.integers(0, len(MOVE_DESTINATIONS)))]
            if tz != home_tz[i]:
                break
        current_tz[i], current_country[i] = tz, cc
    web_rate *= size.web_scale
    web_rate[moved_idx] = np.maximum(web_rate[moved_idx], 0.06)
    lam[moved_idx] = np.maximum(lam[moved_idx], 0.01)

    people = People(
        n=n, person_id=np.array([f"PER{i + 1:07d}" for i in range(n)], dtype=object),
        country=country, female=female, first=first, last=last, first_latin=first_latin,
        last_latin=last_latin, birth_date=birth_date, city=city, ru_city=ru_city,
        home_tz=home_tz, email=email, email_kind=email_kind, alt_email=alt_email, phone=phone,
        life_start=life_start, life_end=life_end, never_active=never_active, lam=lam,
        web_rate=web_rate, online_share=online_share, engage=engage, l1_pref=l1_pref,
        store=store, moved=moved, move_day=move_day, current_tz=current_tz,
        current_country=current_country, household=np.full(n, -1), card_of=np.full(n, -1),
        own_card=np.full(n, -1), contact=np.full(n, -1), dup_contact=np.full(n, -1),
        cookie_start=np.zeros(n, int), cookie_count=np.zeros(n, int))
    # Browsers: 1-3 cookies per person that ever acts (never-active people never visit).
    counts = np.where(never_active, 0, np.minimum(1 + rng.poisson(0.5, n), 3))
    people.cookie_count = counts
    people.cookie_start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return people


def _latin(names: np.ndarray, cyrillic: np.ndarray) -> np.ndarray:
    """Latin spellings, computed once per distinct (name, script) pair."""
    keys = np.where(cyrillic, "c", "l").astype(object) + names
    codes, uniques = pd.factorize(keys)
    table = np.array([transliterate(k[1:]) if k[0] == "c" else ascii_fold(k[1:])
                      for k in uniques], dtype=object)
    return table[codes]


def _emails(rng, n, country, first_latin, last_latin, birth_date, company_domains,
            personal_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    kind = np.zeros(n, int)
    if not personal_only:
        r = rng.random(n)
        kind[r < 0.005] = 1
        kind[(r >= 0.005) & (r < 0.01)] = 2
    pattern = rng.integers(0, 6, n)
    num = rng.integers(1, 999, n)
    dom_u = rng.random(n)
    role = rng.integers(0, len(ROLE_LOCAL_PARTS), n)
    comp = rng.integers(0, len(company_domains), n)
    disp = rng.integers(0, len(DISPOSABLE_DOMAINS), n)
    none = (rng.random(n) < 0.08) if not personal_only else np.zeros(n, bool)
    domains = np.empty(n, dtype=object)
    for ci, c in enumerate(COUNTRIES):
        m = country == ci
        w = np.array(c.email_weights)
        domains[m] = np.array(c.email_domains, dtype=object)[
            np.minimum(np.searchsorted(np.cumsum(w) / w.sum(), dom_u[m]), len(w) - 1)]
    out = np.empty(n, dtype=object)
    none, pattern, num, kind_l = none.tolist(), pattern.tolist(), num.tolist(), kind.tolist()
    for i in range(n):
        if none[i]:
            out[i] = ""
            continue
        f = first_latin[i].lower().replace(" ", "")
        la = last_latin[i].lower().replace(" ", "")
        yy = birth_date[i][2:4]
        local = (f"{f}.{la}", f"{f}{la}{yy}", f"{f[0]}{la}", f"{la}.{f}{num[i]}", f"{f}_{la}",
                 f"{la}{num[i]}")[pattern[i]]
        if kind_l[i] == 1:
            out[i] = f"{ROLE_LOCAL_PARTS[role[i]]}@{company_domains[comp[i]]}"
            continue
        domain = domains[i]
        if kind_l[i] == 2:
            domain = DISPOSABLE_DOMAINS[disp[i]]
        out[i] = f"{local}@{domain}"
    return _unique(rng, out, taken=set()), kind


def _unique(rng, values: np.ndarray, taken: set) -> np.ndarray:
    """Make non-empty personal values unique (role addresses may legitimately repeat)."""
    seen = set(taken)
    out = values.copy()
    for i, v in enumerate(values):
        if not v:
            continue
        if v in seen and v.split("@")[0] not in ("info", "admin", "office", "sales", "support"):
            local, _, dom = v.partition("@")
            while True:
                cand = f"{local}{int(rng.integers(1, 9999))}@{dom}"
                if cand not in seen:
                    break
            out[i] = cand
        seen.add(out[i])
    return out


def _phones(rng, n, country, ru_city) -> np.ndarray:
    out = np.empty(n, dtype=object)
    d7 = _digits(rng, n, 7)
    d8 = _digits(rng, n, 8)
    mob = rng.choice(RU_MOBILE_CODES, size=n)
    landline = rng.random(n) < 0.08
    kz = rng.integers(0, len(KZ_MOBILE_CODES), n)
    none = rng.random(n) < 0.07
    for i in range(n):
        code = COUNTRIES[country[i]].code
        if none[i]:
            out[i] = ""
        elif code == "RU":
            area = RU_CITIES[ru_city[i]][4] if landline[i] else mob[i]
            out[i] = f"7{area}{d7[i]}"
        elif code == "KZ":
            out[i] = f"7{KZ_MOBILE_CODES[kz[i]]}{d7[i]}"
        elif code == "PL":
            out[i] = f"48{5 + int(d7[i][0]) % 4}{d8[i]}"
        elif code == "DE":
            out[i] = f"491{5 + int(d7[i][0]) % 3}{d8[i]}{d7[i][:1]}"
        else:
            out[i] = f"1{('212', '312', '310', '305', '206')[int(d7[i][0]) % 5]}{d7[i]}"
    seen: set[str] = set()
    for i in range(n):
        while out[i] and out[i] in seen:
            out[i] = out[i][:-4] + f"{int(rng.integers(0, 10000)):04d}"
        if out[i]:
            seen.add(out[i])
    return out


def make_households(rng: np.random.Generator, people: People, days: int) -> None:
    """Pair people in the same city: the partner uses the holder's card (set after cards)."""
    n = people.n
    k = int(round(cfg.HOUSEHOLD_SHARE * n / 2))
    # Both partners live (and shop) through the whole window, so the shared card shows.
    lasting = ((people.life_start < 0) & (people.life_end > days) & ~people.never_active
               & ~people.moved)
    holders = np.flatnonzero((people.own_card >= 0) & lasting)
    others = np.flatnonzero((people.own_card < 0) & (people.store >= 0) & lasting)
    # Pair partners with holders of the same city, city by city, each holder at most once.
    pairs_a, pairs_b = [], []
    cities = np.unique(people.ru_city[others])
    quota = np.round(k * np.array([(people.ru_city[others] == c).mean() for c in cities]))
    for c, q in zip(cities.tolist(), quota.astype(int).tolist(), strict=True):
        hs = holders[people.ru_city[holders] == c]
        bs = others[people.ru_city[others] == c]
        m = min(q, len(hs), len(bs))
        pairs_a.append(rng.choice(hs, size=m, replace=False))
        pairs_b.append(rng.choice(bs, size=m, replace=False))
    a = np.concatenate(pairs_a).astype(np.int64) if pairs_a else np.array([], np.int64)
    b = np.concatenate(pairs_b).astype(np.int64) if pairs_b else np.array([], np.int64)
    h = np.arange(len(a))
    people.household[a] = h
    people.household[b] = h
    people.card_of[b] = people.own_card[a]
    # The partner shops in stores too, at the same store as the holder.
    people.store[b] = people.store[a]
    people.online_share[b] = np.minimum(people.online_share[b], 0.2)
    people.online_share[a] = np.minimum(people.online_share[a], 0.5)
    people.lam[b] = np.maximum(people.lam[b], 6 / 365)
    people.lam[a] = np.maximum(people.lam[a], 3 / 365)


def make_cards(rng: np.random.Generator, people: People, stores: Stores, days: int) -> Cards:
    cand = np.flatnonzero((people.store >= 0) & (people.online_share < 0.9) & ~people.moved
                          | ((people.store >= 0) & people.never_active))
    holders = cand[rng.random(len(cand)) < cfg.CARD_SHARE]
    m = len(holders)
    issued = np.maximum(people.life_start[holders] + rng.uniform(0, 60, m),
                        stores.opened_day[people.store[holders]] + rng.uniform(0, 30, m))
    order = np.argsort(issued, kind="stable")
    holders, issued = holders[order], issued[order]
    seq = rng.permutation(10**7)[:m] + 10**7
    body = np.char.add("2770", seq.astype(str)) if m else np.array([], dtype=str)
    digits = (seq[:, None] // 10 ** np.arange(7, -1, -1)) % 10  # the 8 digits after "2770"
    weights = np.array([1, 3] * 6)
    total = (np.array([2, 7, 7, 0]) * weights[:4]).sum() + (digits * weights[4:]).sum(axis=1)
    numbers = np.char.add(body, ((10 - total % 10) % 10).astype(str)).astype(object)
    names, phones, emails = [], [], []
    u = rng.random((m, 4))
    for j, p in enumerate(holders):
        f, la = people.first[p], people.last[p]
        style = int(u[j, 0] * 4)
        names.append((f"{la} {f}", f"{f} {la}", f"{f} {la[0]}.",
                      f"{la.upper()} {f.upper()}")[style])
        phones.append(phone_shape(people.phone[p], int(u[j, 1] * 9)) if u[j, 2] < 0.9 else "")
        emails.append(email_shape(people.email[p], int(u[j, 3] * 6)) if u[j, 3] < 0.6 else "")
    blocked = np.where(rng.random(m) < 0.02, rng.uniform(0, days, m), np.inf)
    cards = Cards(
        n=m, number=numbers, holder=holders,
        holder_name=np.array(names, dtype=object), phone=np.array(phones, dtype=object),
        email=np.array(emails, dtype=object), issued=issued, store=people.store[holders].copy(),
        points=np.where(issued < 0, rng.integers(0, 3000, m), 0),
        blocked_day=blocked, status=np.array(["active"] * m, dtype=object))
    people.own_card[holders] = np.arange(m)
    people.card_of[holders] = np.arange(m)
    return cards


def make_contacts(rng: np.random.Generator, people: People, days: int) -> Contacts:
    n = people.n
    has = people.never_active | (rng.random(n) < cfg.CONTACT_SHARE)
    prim = np.flatnonzero(has)
    dup = prim[(rng.random(len(prim)) < cfg.DUPLICATE_CONTACT_SHARE) & ~people.never_active[prim]]
    n_test = max(3, n // 1000)
    person = np.concatenate([prim, dup, np.full(n_test, -1)])
    kind = np.concatenate([np.zeros(len(prim), int), np.ones(len(dup), int),
                           np.full(n_test, 2)])
    c = len(person)
    p = np.where(person >= 0, person, 0)
    life = people.life_start[p]
    end_span = np.minimum(people.life_end[p], days)
    created = np.where(kind == 0, life, life + (end_span - life) * rng.uniform(0.05, 1.0, c))
    created = np.where(kind == 2, rng.uniform(-400, days, c), created)
    u = rng.random((c, 16))

    first = np.empty(c, dtype=object)
    last = np.empty(c, dtype=object)
    first_l = np.empty(c, dtype=object)
    last_l = np.empty(c, dtype=object)
    email = np.empty(c, dtype=object)
    phone = np.empty(c, dtype=object)
    birth = np.empty(c, dtype=object)
    gender = np.empty(c, dtype=object)
    city = np.empty(c, dtype=object)
    ccode = np.empty(c, dtype=object)
    tz = np.empty(c, dtype=object)
    lead = np.empty(c, dtype=object)
    tags = np.empty(c, dtype=object)
    tg = np.empty(c, dtype=object)
    vk = np.empty(c, dtype=object)
    tag_pool = ("newsletter", "vip", "pets", "beauty", "fashion", "b2b", "employee", "wholesale")
    sources = ("website_form", "quiz", "vk", "telegram_bot", "offline_store", "loyalty_signup")
    tg_ids = rng.integers(10**8, 7 * 10**9, c).tolist()
    vk_ids = rng.integers(10**6, 8 * 10**8, c).tolist()
    u_arr, u = u, u.tolist()  # Python floats: scalar indexing of numpy arrays is slow
    kind_l, p_l = kind.tolist(), p.tolist()
    country_l = people.country.tolist()
    for j in range(c):
        i = p_l[j]
        uj = u[j]
        if kind_l[j] == 2:  # QA staff typing test records into the live CRM
            first[j], last[j] = "Тест", ("Тестов", "Тестовый", "Проверка")[j % 3]
            first_l[j], last_l[j] = "Test", "Testov"
            email[j] = JUNK_EMAILS[j % 2]
            phone[j] = JUNK_PHONES[j % 2]
            birth[j] = gender[j] = tg[j] = vk[j] = tags[j] = ""
            city[j], ccode[j], tz[j], lead[j] = "Москва", "RU", "Europe/Moscow", "website_form"
            tags[j] = "test"
            continue
        cyr = country_l[i] in (0, 1)
        fn, ln = people.first[i], people.last[i]
        if kind_l[j] == 1 and uj[0] < 0.4:
            fn, ln = (name_typo(fn, uj[1]), ln) if uj[2] < 0.5 else (fn, name_typo(ln, uj[1]))
        if kind_l[j] == 1 and cyr and uj[3] < 0.1:
            fn, ln = people.first_latin[i], people.last_latin[i]  # typed in Latin letters
        first[j], last[j] = fn, ln
        first_l[j] = people.first_latin[i] if uj[4] < 0.7 else ""
        last_l[j] = people.last_latin[i] if first_l[j] else ""
        # Contact points: primary usually complete; the duplicate shares one identifier shape.
        e, ph = people.email[i], people.phone[i]
        if kind_l[j] == 1:
            variant = int(uj[5] * 3)
            if variant == 0:
                ph = ""
            elif variant == 1:
                e = people.alt_email[i] if people.alt_email[i] else ""
            e_shape = int(uj[6] * 6)
        else:
            e_shape = 0 if uj[6] < 0.7 else int(uj[7] * 6)
        ph_shape = int(uj[8] * 9) if country_l[i] in (0, 1) else int(uj[8] * 4)
        email[j] = email_shape(e, e_shape) if e else ""
        phone[j] = phone_shape(ph, ph_shape) if ph else ""
        src_u = uj[9]
        if kind_l[j] == 1:
            # The second contact usually comes from a till or a bot; no till without a store.
            lead[j] = sources[(4, 5, 1, 3)[int(src_u * 4)] if people.store[i] >= 0
                              else (0, 1, 3)[int(src_u * 3)]]
        elif people.store[i] >= 0 and src_u < 0.3:
            lead[j] = "offline_store" if src_u < 0.18 else "loyalty_signup"
        else:
            lead[j] = sources[int(uj[10] * 4)]
        if not email[j] and lead[j] in ("offline_store", "loyalty_signup") and uj[11] < 0.5:
            email[j] = JUNK_EMAILS[1] if uj[11] < 0.35 else JUNK_EMAILS[2]
        if not phone[j] and uj[11] > 0.97:
            phone[j] = JUNK_PHONES[int(uj[12] * len(JUNK_PHONES))]
        elif phone[j] and uj[12] < 0.01:
            phone[j] = JUNK_PHONES[1]
        birth[j] = people.birth_date[i] if uj[12] < 0.6 else ""
        gender[j] = ("female" if people.female[i] else "male") if uj[13] < 0.8 else ""
        cu = uj[14]
        if country_l[i] == 0:
            name = RU_CITIES[people.ru_city[i]]
            city[j] = name[0] if cu < 0.8 else f"г. {name[0]}" if cu < 0.88 else (
                name[1] if cu < 0.95 else "")
        else:
            city[j] = people.city[i] if cu < 0.9 else ""
        ccode[j] = (("RU", "KZ", "PL", "DE", "US")[country_l[i]]) if cu < 0.92 else ""
        tz[j] = people.home_tz[i] if uj[15] < 0.85 else ""
        k_tags = int(uj[13] * 10) % 3
        tags[j] = "|".join(tag_pool[(j + t * 3) % len(tag_pool)] for t in range(k_tags))
        tg[j] = str(tg_ids[j]) if uj[1] < 0.25 else ""
        vk[j] = (f"id{vk_ids[j]}" if uj[2] < 0.5 else str(vk_ids[j])) if uj[3] > 0.85 else ""

    order = np.argsort(created, kind="stable")
    inv = np.empty(c, int)
    inv[order] = np.arange(c)
    contact_id = (100001 + inv * 3 + (u_arr[:, 0] * 3).astype(int)).astype(str).astype(object)

    def consent(p_true: float, p_false: float, eligible: np.ndarray) -> tuple:
        r = rng.random(c)
        val = np.where(r < p_true, "true", np.where(r < p_true + p_false, "false", ""))
        val = np.where(eligible, val, "").astype(object)
        at = np.where(val != "", created + rng.uniform(0, 0.01, c), np.nan)
        return val, at

    has_email = np.array([bool(x) for x in email])
    has_phone = np.array([bool(x) for x in phone])
    has_tg = np.array([bool(x) for x in tg])
    cons, cons_at = {}, {}
    cons["email"], cons_at["email"] = consent(0.72, 0.10, has_email)
    cons["sms"], cons_at["sms"] = consent(0.45, 0.15, has_phone)
    cons["whatsapp"], cons_at["whatsapp"] = consent(0.22, 0.08, has_phone)
    cons["telegram"], cons_at["telegram"] = consent(0.7, 0.1, has_tg)

    address = {
        "email": np.array([x.strip() for x in email], dtype=object),
        "sms": np.array([esp_phone(x) for x in phone], dtype=object),
        "whatsapp": np.array([("+" + esp_phone(x)) if x.startswith("+") else esp_phone(x)
                              for x in phone], dtype=object),
        "telegram": tg.copy(),
    }
    bounce = {}
    for ch in CHANNELS:
        r = rng.random(c)
        b = np.where(r < 0.025, 1, np.where(r < 0.045, 2, 0))
        bounce[ch] = b
    junk_email = np.isin(address["email"], list(JUNK_EMAILS))
    bounce["email"][junk_email] = 1
    junk_digits = {esp_phone(j) for j in JUNK_PHONES}
    junk_phone = np.array([esp_phone(x) in junk_digits for x in phone], dtype=bool)
    bounce["sms"][junk_phone] = 1
    bounce["whatsapp"][junk_phone] = 1
    # Typo'd domains are dead mailboxes.
    dead_domains = {"mail.ry", "gmial.com", "yandex.ri", "mial.ru"}
    bounce["email"][[x.lower().rpartition("@")[2] in dead_domains
                     for x in address["email"]]] = 1

    contacts = Contacts(
        n=c, person=person, contact_id=contact_id, created=created,
        updated=created.copy(), first=first, last=last, first_latin=first_l,
        last_latin=last_l, email=email, phone=phone, birth_date=birth, gender=gender,
        city=city, country_code=ccode, time_zone=tz, lead_source=lead, tags=tags,
        telegram_id=tg, vk_id=vk, consent=cons, consent_at=cons_at, address=address,
        bounce=bounce, suppressed={ch: np.zeros(c, bool) for ch in CHANNELS},
        hard_bounces={ch: np.zeros(c, int) for ch in CHANNELS})
    people.contact[person[kind == 0]] = np.flatnonzero(kind == 0)
    people.dup_contact[person[kind == 1]] = np.flatnonzero(kind == 1)
    return contacts


def guest_email(people: People, i: int, r: float, r2: float) -> str:
    """The e-mail a guest types at checkout: mostly theirs, sometimes mistyped or junk."""
    e = people.email[i]
    if r < 0.05 or not e:
        return ""
    if r < 0.08:
        return JUNK_EMAILS[0]
    if r < 0.14:
        return email_typo(e, r2)
    if r < 0.20 and people.alt_email[i]:
        return email_shape(people.alt_email[i], int(r2 * 6))
    return email_shape(e, int(r2 * 6))
