"""How people and clerks really type contact points: phone and e-mail shapes, typos, junk."""

from __future__ import annotations

import re

import numpy as np

# Values shared by many unrelated records; identity resolution must not link on them.
JUNK_EMAILS = ("test@test.com", "noemail@mail.ru", "no@mail.ru", "1@1.ru")
JUNK_PHONES = ("0000000000", "+7 (000) 000-00-00", "+7 (999) 999-99-99", "89999999999")

RU_PHONE_SHAPES = 9
FOREIGN_PHONE_SHAPES = 4


def phone_shape(e164_digits: str, shape: int) -> str:
    """One written form of a phone number given as digits with country code ('79161234567')."""
    if not e164_digits:
        return ""
    if e164_digits.startswith("7") and len(e164_digits) == 11:
        n = e164_digits[1:]
        a, b, c, d = n[:3], n[3:6], n[6:8], n[8:]
        forms = (
            f"+7 ({a}) {b}-{c}-{d}",
            f"8 {a} {b} {c} {d}",
            f"7{n}",
            f"8({a}){b}{c}{d}",
            f"+7{n}",
            f"8{n}",
            n,
            f"+7 {a} {b}-{c}-{d}",
            f"8-{a}-{b}-{c}-{d}",
        )
        return forms[shape % len(forms)]
    cc_len = 1 if e164_digits.startswith("1") else 2
    cc, n = e164_digits[:cc_len], e164_digits[cc_len:]
    grouped = " ".join(n[i:i + 3] for i in range(0, len(n), 3))
    forms = (f"+{cc} {grouped}", f"+{cc}{n}", f"00{cc}{n}", f"+{cc} ({n[:3]}) {n[3:]}")
    return forms[shape % len(forms)]


_NOT_DIGITS = re.compile(r"\D")


def esp_phone(written: str) -> str:
    """The ESP keeps what it imported, stripped to digits (so '8 916...' stays '8916...')."""
    return _NOT_DIGITS.sub("", written)


def email_shape(email: str, shape: int) -> str:
    """One typed form of an e-mail address: case, surrounding spaces, Gmail dots."""
    if not email:
        return ""
    local, _, domain = email.partition("@")
    if shape == 1:
        parts = ".".join(p.capitalize() for p in local.split("."))
        dom = domain.split(".")
        return f"{parts}@{dom[0].capitalize()}.{'.'.join(dom[1:]).upper()}"
    if shape == 2:
        return email.upper()
    if shape == 3:
        return f" {email} "
    if shape == 4 and domain == "gmail.com":
        dotted = local.replace(".", "") if "." in local else f"{local[:3]}.{local[3:]}"
        return f"{dotted}@{domain}"
    if shape == 5:
        return f"{local.capitalize()}@{domain} "
    return email


_DOMAIN_TYPOS = {
    "mail.ru": ("mail.ry", "mial.ru", "mail.ru.", "mali.ru"),
    "gmail.com": ("gmial.com", "gmail.co", "gmai.com", "gmail.ru"),
    "yandex.ru": ("yandex.ri", "yandx.ru", "yadex.ru"),
}


def email_typo(email: str, r: float) -> str:
    """A mistyped address (domain typo or a dropped letter): a different, often dead, mailbox."""
    if not email:
        return ""
    local, _, domain = email.partition("@")
    if domain in _DOMAIN_TYPOS:
        options = _DOMAIN_TYPOS[domain]
        return f"{local}@{options[int(r * len(options)) % len(options)]}"
    i = 1 + int(r * max(len(local) - 2, 1))
    return f"{local[:i]}{local[i + 1:]}@{domain}"


def name_typo(name: str, r: float) -> str:
    """A plausible misspelling: swapped or dropped letter, ё→е, shouting caps."""
    if len(name) < 3:
        return name
    kind = int(r * 5)
    i = 1 + int((r * 97) % 1 * (len(name) - 2))
    if kind == 0:
        return name[:i] + name[i + 1] + name[i] + name[i + 2:]
    if kind == 1:
        return name[:i] + name[i + 1:]
    if kind == 2 and ("ё" in name or "Ё" in name):
        return name.replace("ё", "е").replace("Ё", "Е")
    if kind == 3:
        return name.upper()
    return name[:i] + name[i] + name[i:]


def birthday_text(birth_date: str, shape: int) -> str:
    """A birthday as typed into a free-text form field."""
    if not birth_date:
        return ""
    y, m, d = birth_date.split("-")
    months = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
              "сентября", "октября", "ноября", "декабря")
    forms = (
        f"{d}.{m}.{y}",
        birth_date,
        f"{d}/{m}/{y}",
        f"{int(d)} {months[int(m) - 1]} {y}",
        f"{d}.{m}",
        f"{d}.{m}.{y[2:]}",
    )
    return forms[shape % len(forms)]


def choose(rng: np.random.Generator, options: tuple | list, p: list[float] | None = None):
    """Scalar pick helper (keeps call sites short)."""
    return options[int(rng.choice(len(options), p=p))]
