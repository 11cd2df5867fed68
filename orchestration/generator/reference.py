"""Reference data of the demo retailer: stores in Russian cities and a product catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from .pools import RU_CITIES

# Category tree: l1 → l2 → l3 with a typical price (roubles) and brands.
CATALOGUE: dict[str, dict[str, tuple[tuple[str, ...], float, tuple[str, ...]]]] = {
    "Одежда и обувь": {
        "Женская одежда": (("Платья", "Блузки", "Джинсы", "Юбки", "Верхняя одежда"), 3900,
                           ("Zarina", "Love Republic", "Befree", "Mango")),
        "Мужская одежда": (("Футболки", "Рубашки", "Джинсы", "Куртки"), 3500,
                           ("Zolla", "O'stin", "Gloria Jeans", "Levi's")),
        "Детская одежда": (("Боди", "Комбинезоны", "Футболки"), 1500,
                           ("Acoola", "Gulliver", "Crockid")),
        "Обувь": (("Кроссовки", "Ботинки", "Туфли", "Сандалии"), 5900,
                  ("ECCO", "Rieker", "Adidas", "Puma")),
        "Аксессуары": (("Сумки", "Ремни", "Шарфы", "Головные уборы"), 2200,
                       ("Fabretti", "Labbra", "Eleganzza")),
    },
    "Косметика": {
        "Уход за лицом": (("Кремы", "Сыворотки", "Очищение", "Маски"), 1400,
                          ("La Roche-Posay", "Vichy", "Natura Siberica", "Librederm")),
        "Макияж": (("Тушь", "Помада", "Тональные средства", "Тени"), 900,
                   ("Maybelline", "Vivienne Sabo", "Essence", "L'Oréal")),
        "Уход за волосами": (("Шампуни", "Бальзамы", "Стайлинг"), 650,
                             ("Estel", "Kapous", "Schwarzkopf")),
        "Парфюмерия": (("Женская парфюмерия", "Мужская парфюмерия"), 4800,
                       ("Lanvin", "Zielinski & Rozen", "Dolce & Gabbana")),
    },
    "Товары для животных": {
        "Собаки": (("Корм", "Лакомства", "Игрушки", "Амуниция"), 1200,
                   ("Royal Canin", "Purina Pro Plan", "Trixie", "Monge")),
        "Кошки": (("Корм", "Наполнители", "Когтеточки", "Игрушки"), 900,
                  ("Whiskas", "Hill's", "Pi-Pi-Bent", "Trixie")),
        "Грызуны и птицы": (("Корм", "Клетки"), 600, ("Vitakraft", "Fiory")),
    },
}

_STORE_MALLS = ("ТЦ Мега", "ТРЦ Галерея", "ТЦ Европейский", "ТРК Радуга", "ТЦ Гринвич",
                "ТРЦ Аура", "ТЦ Центральный", "ТРЦ Океания", "ТЦ Атриум", "ТЦ Парк Хаус")


@dataclass
class Stores:
    """Stores as parallel arrays (index = store number - 1)."""

    store_id: np.ndarray
    name: np.ndarray
    city_idx: np.ndarray
    time_zone: np.ndarray
    phone_digits: np.ndarray
    phone_written: np.ndarray
    opened_day: np.ndarray  # day index relative to the first landing day (negative = before)

    def rows(self, start: date) -> list[list[str]]:
        out = []
        for i in range(len(self.store_id)):
            c = RU_CITIES[int(self.city_idx[i])]
            opened = start + timedelta(days=int(self.opened_day[i]))
            out.append([self.store_id[i], self.name[i], c[0], "RU", self.time_zone[i],
                        self.phone_written[i], opened.isoformat()])
        return out


STORE_COLUMNS = ["store_id", "store_name", "city", "country_code", "time_zone", "phone",
                 "opened_at"]
PRODUCT_COLUMNS = ["product_id", "sku", "product_name", "category_l1", "category_l2",
                   "category_l3", "brand", "price", "currency"]


def make_stores(rng: np.random.Generator, n_stores: int, n_cities: int, n_days: int) -> Stores:
    """Stores spread over the first n_cities, proportional to population, at least one each."""
    weights = np.array([c[3] for c in RU_CITIES[:n_cities]])
    counts = np.maximum(1, np.floor(weights / weights.sum() * n_stores).astype(int))
    while counts.sum() < n_stores:
        counts[int(np.argmax(weights / counts))] += 1
    city_idx = np.repeat(np.arange(n_cities), counts)[:n_stores]
    n = len(city_idx)
    # A few stores open during the window: no receipts there before their opening day.
    opened = -rng.integers(200, 3000, size=n)
    late = rng.random(n) < 0.1
    late[: n_cities] = False  # every city keeps one store that is open the whole time
    opened[late] = rng.integers(30, max(31, n_days - 60), size=int(late.sum()))
    phones, written, names = [], [], []
    for i in range(n):
        c = RU_CITIES[int(city_idx[i])]
        digits = f"7{c[4]}{rng.integers(1000000, 9999999)}"
        phones.append(digits)
        n_ = digits[1:]
        written.append(f"+7 ({n_[:3]}) {n_[3:6]}-{n_[6:8]}-{n_[8:]}")
        names.append(f"{c[0]}, {_STORE_MALLS[i % len(_STORE_MALLS)]}")
    return Stores(
        store_id=np.array([f"S{i + 1:03d}" for i in range(n)], dtype=object),
        name=np.array(names, dtype=object),
        city_idx=city_idx,
        time_zone=np.array([RU_CITIES[int(c)][2] for c in city_idx], dtype=object),
        phone_digits=np.array(phones, dtype=object),
        phone_written=np.array(written, dtype=object),
        opened_day=opened,
    )


@dataclass
class Products:
    """Catalogue as arrays; `l1_idx` lets people prefer one department."""

    rows: list[list[str]]
    product_id: np.ndarray
    price: np.ndarray
    l1_idx: np.ndarray
    popularity: np.ndarray  # sampling weights within the department


def make_products(rng: np.random.Generator, n_products: int) -> Products:
    leaves = [(l1, l2, l3, base, brands)
              for l1, subs in CATALOGUE.items()
              for l2, (l3s, base, brands) in subs.items()
              for l3 in l3s]
    l1_names = list(CATALOGUE)
    leaf_idx = rng.integers(0, len(leaves), size=n_products)
    leaf_idx[: len(leaves)] = np.arange(len(leaves))[: n_products]  # every leaf has a product
    rows, ids, prices, l1s = [], [], [], []
    for i, li in enumerate(leaf_idx):
        l1, l2, l3, base, brands = leaves[int(li)]
        brand = brands[int(rng.integers(0, len(brands)))]
        price = float(np.round(base * rng.lognormal(0, 0.45) / 10) * 10 - 1)
        price = max(price, 99.0)
        pid = f"P{i + 1:06d}"
        sku = f"{l1_names.index(l1) + 1}{int(li):03d}-{rng.integers(10000, 99999)}"
        model = f"{rng.integers(100, 999)}"
        rows.append([pid, sku, f"{l3} {brand} {model}", l1, l2, l3, brand, f"{price:.2f}", "RUB"])
        ids.append(pid)
        prices.append(price)
        l1s.append(l1_names.index(l1))
    popularity = rng.pareto(1.2, size=n_products) + 0.05
    return Products(rows=rows, product_id=np.array(ids, dtype=object),
                    price=np.array(prices), l1_idx=np.array(l1s), popularity=popularity)
