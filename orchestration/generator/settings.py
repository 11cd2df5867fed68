"""Sizes and fixed constants of the synthetic retailer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# A fixed default (never "today"), so the same command always gives the same bytes.
DEFAULT_END_DATE = date(2026, 10, 31)


@dataclass(frozen=True)
class Size:
    """How big a generated world is."""

    name: str
    people: int
    days: int
    stores: int
    store_cities: int
    products: int
    new_people_share: float  # people whose first contact falls inside the window
    # Volume knobs (1.0 keeps the behaviour model as is): L is calibrated to the issue's
    # targets of ~30M web events and ~20M messaging events over three years.
    web_scale: float = 1.0
    sends_scale: float = 1.0


SIZES = {
    "S": Size("S", 1_500, 365, 12, 7, 300, 0.30),
    "M": Size("M", 50_000, 730, 40, 11, 2_000, 0.40),
    "L": Size("L", 1_000_000, 1_095, 150, 11, 10_000, 0.45, web_scale=0.65, sends_scale=1.6),
}

MALFORMED_RATE = 0.003
HOUSEHOLD_SHARE = 0.015  # people living in a household that shares one loyalty card
MOVED_SHARE = 0.05
INACTIVE_SHARE = 0.15  # contacts whose activity stopped long before the end date
NEVER_ACTIVE_SHARE = 0.05
CONTACT_SHARE = 0.88  # people with a CRM contact (the rest are guests / anonymous buyers)
DUPLICATE_CONTACT_SHARE = 0.08
CARD_SHARE = 0.55  # store shoppers with a loyalty card
PURCHASES_PER_YEAR = 3.0  # mean of the gamma-distributed purchase rate of an alive customer
SENDS_PER_YEAR = {"email": 5.0, "sms": 1.5, "whatsapp": 1.0, "telegram": 1.5}
CAMPAIGN_DAY_PROB = {"email": 0.4, "sms": 0.12, "whatsapp": 0.07, "telegram": 0.1}
