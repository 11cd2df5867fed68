"""Fixed vocabularies and Faker-built pools the generator samples from with numpy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from faker import Faker

# Russian cities: (name, latin name, IANA zone, share of Russian residents, phone area code).
# Stores open in the first cities (how many depends on the size); the rest shop online only.
RU_CITIES: list[tuple[str, str, str, float, str]] = [
    ("Москва", "Moscow", "Europe/Moscow", 0.28, "495"),
    ("Санкт-Петербург", "Saint Petersburg", "Europe/Moscow", 0.13, "812"),
    ("Екатеринбург", "Yekaterinburg", "Asia/Yekaterinburg", 0.06, "343"),
    ("Новосибирск", "Novosibirsk", "Asia/Novosibirsk", 0.06, "383"),
    ("Казань", "Kazan", "Europe/Moscow", 0.05, "843"),
    ("Калининград", "Kaliningrad", "Europe/Kaliningrad", 0.03, "401"),
    ("Владивосток", "Vladivostok", "Asia/Vladivostok", 0.03, "423"),
    ("Краснодар", "Krasnodar", "Europe/Moscow", 0.04, "861"),
    ("Самара", "Samara", "Europe/Samara", 0.03, "846"),
    ("Нижний Новгород", "Nizhny Novgorod", "Europe/Moscow", 0.04, "831"),
    ("Ростов-на-Дону", "Rostov-on-Don", "Europe/Moscow", 0.04, "863"),
    ("Пермь", "Perm", "Asia/Yekaterinburg", 0.02, "342"),
    ("Омск", "Omsk", "Asia/Omsk", 0.02, "381"),
    ("Красноярск", "Krasnoyarsk", "Asia/Krasnoyarsk", 0.03, "391"),
    ("Иркутск", "Irkutsk", "Asia/Irkutsk", 0.02, "395"),
    ("Хабаровск", "Khabarovsk", "Asia/Vladivostok", 0.02, "421"),
    ("Тюмень", "Tyumen", "Asia/Yekaterinburg", 0.02, "345"),
    ("Уфа", "Ufa", "Asia/Yekaterinburg", 0.03, "347"),
    ("Воронеж", "Voronezh", "Europe/Moscow", 0.02, "473"),
    ("Сочи", "Sochi", "Europe/Moscow", 0.03, "862"),
]


@dataclass(frozen=True)
class Country:
    """A country people live in: locale for names, phone numbering, zones, e-mail domains."""

    code: str
    locale: str
    share: float
    calling_code: str
    time_zones: tuple[str, ...]
    email_domains: tuple[str, ...]
    email_weights: tuple[float, ...]


COUNTRIES: list[Country] = [
    Country("RU", "ru_RU", 0.88, "7", (),
            ("mail.ru", "yandex.ru", "gmail.com", "bk.ru", "list.ru", "inbox.ru", "rambler.ru",
             "ya.ru"),
            (0.30, 0.24, 0.20, 0.05, 0.05, 0.05, 0.06, 0.05)),
    # Kazakhstan shares +7 with Russia, and many residents carry Russian names.
    Country("KZ", "ru_RU", 0.03, "7", ("Asia/Almaty",),
            ("mail.ru", "gmail.com", "yandex.kz", "inbox.kz"), (0.4, 0.35, 0.15, 0.10)),
    Country("PL", "pl_PL", 0.03, "48", ("Europe/Warsaw",),
            ("gmail.com", "wp.pl", "onet.pl", "o2.pl", "interia.pl"), (0.4, 0.2, 0.2, 0.1, 0.1)),
    Country("DE", "de_DE", 0.03, "49", ("Europe/Berlin",),
            ("gmail.com", "gmx.de", "web.de", "t-online.de"), (0.35, 0.25, 0.25, 0.15)),
    Country("US", "en_US", 0.03, "1",
            ("America/New_York", "America/Chicago", "America/Los_Angeles"),
            ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com"), (0.5, 0.2, 0.15, 0.15)),
]

KZ_CITIES = [("Алматы", "Almaty"), ("Астана", "Astana"), ("Шымкент", "Shymkent")]
US_CITIES = [("New York", "America/New_York"), ("Chicago", "America/Chicago"),
             ("Los Angeles", "America/Los_Angeles"), ("Miami", "America/New_York"),
             ("Seattle", "America/Los_Angeles")]

# Where people who moved away now live (zone, ISO country): their profiles keep the old zone.
MOVE_DESTINATIONS: list[tuple[str, str]] = [
    ("Asia/Colombo", "LK"), ("Asia/Dubai", "AE"), ("Europe/Berlin", "DE"), ("Asia/Tbilisi", "GE"),
    ("Asia/Yerevan", "AM"), ("Europe/Belgrade", "RS"), ("Asia/Bangkok", "TH"),
    ("Europe/Istanbul", "TR"), ("Asia/Almaty", "KZ"), ("Europe/Warsaw", "PL"),
]

DISPOSABLE_DOMAINS = ("mailinator.com", "yopmail.com", "guerrillamail.com", "10minutemail.com")
ROLE_LOCAL_PARTS = ("info", "admin", "office", "sales", "support")

USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/125.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 YaBrowser/24.6.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; Redmi Note 12) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
    "clientbase-app/5.12.0 (iOS 17.5; iPhone15,2)",
    "clientbase-app/5.11.3 (Android 14; Pixel 8)",
)

_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}


def transliterate(text: str) -> str:
    """Latin spelling of a Cyrillic name, as in a passport (BGN-like, no diacritics)."""
    out = []
    for ch in text:
        low = ch.lower()
        if low in _TRANSLIT:
            lat = _TRANSLIT[low]
            out.append(lat.capitalize() if ch != low else lat)
        else:
            out.append(ch)
    return "".join(out)


def ascii_fold(text: str) -> str:
    """Latin-only form for e-mail local parts (Polish and German letters folded)."""
    table = str.maketrans("ąćęłńóśźżäöüßĄĆĘŁŃÓŚŹŻÄÖÜ", "acelnoszzaousACELNOSZZAOU")
    return transliterate(text.translate(table)).replace("'", "").replace(" ", "")


@dataclass
class NamePool:
    """First and last names per gender for one locale (index 0 female, 1 male)."""

    first: tuple[np.ndarray, np.ndarray]
    last: tuple[np.ndarray, np.ndarray]


def build_name_pools(seed: int, size: int = 400) -> dict[str, NamePool]:
    """Sample name pools once per locale; people then draw from them with numpy."""
    pools: dict[str, NamePool] = {}
    for i, locale in enumerate(sorted({c.locale for c in COUNTRIES})):
        fake = Faker(locale)
        fake.seed_instance(seed * 1000 + i)

        def uniq(fn) -> np.ndarray:
            seen = dict.fromkeys(fn() for _ in range(size))
            return np.array(sorted(seen), dtype=object)

        pools[locale] = NamePool(
            first=(uniq(fake.first_name_female), uniq(fake.first_name_male)),
            last=(uniq(fake.last_name_female), uniq(fake.last_name_male)),
        )
    return pools


def build_city_pools(seed: int) -> dict[str, np.ndarray]:
    """Faker city names for the European countries (their zone is the country's only one)."""
    out = {}
    for code, locale in (("PL", "pl_PL"), ("DE", "de_DE")):
        fake = Faker(locale)
        fake.seed_instance(seed + len(code) * 7 + ord(code[0]))
        getter = fake.city_name if hasattr(fake, "city_name") else fake.city
        out[code] = np.array(sorted(dict.fromkeys(getter() for _ in range(60))), dtype=object)
    return out


def build_company_domains(seed: int, size: int = 60) -> np.ndarray:
    """Company domains for role addresses (info@, admin@)."""
    fake = Faker("ru_RU")
    fake.seed_instance(seed + 99)
    return np.array(sorted(dict.fromkeys(fake.domain_name() for _ in range(size))), dtype=object)
