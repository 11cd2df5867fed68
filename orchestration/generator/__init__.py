"""Deterministic synthetic retailer: writes messy landing files plus the hidden truth."""

from .engine import generate
from .settings import DEFAULT_END_DATE, SIZES

__all__ = ["DEFAULT_END_DATE", "SIZES", "generate"]
