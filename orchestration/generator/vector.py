"""Vectorised helpers: ids, timestamps and line rendering for large batches of events."""

from __future__ import annotations

import binascii
import json
from datetime import date

import numpy as np
import pandas as pd

STR = np.dtypes.StringDType()
_DASH = ord("-")


def uuids(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random UUID-shaped ids (from the seeded stream, so they are reproducible)."""
    if n == 0:
        return np.array([], dtype=STR)
    hexed = np.frombuffer(binascii.hexlify(rng.bytes(16 * n)), dtype=np.uint8).reshape(n, 32)
    hexed = hexed.copy()
    hexed[:, 12] = ord("4")  # version 4 ...
    hexed[:, 16] = np.frombuffer(b"89ab", dtype=np.uint8)[hexed[:, 16] % 4]  # ... RFC variant
    dash = np.full((n, 1), _DASH, np.uint8)
    parts = [hexed[:, :8], dash, hexed[:, 8:12], dash, hexed[:, 12:16], dash, hexed[:, 16:20],
             dash, hexed[:, 20:]]
    return np.ascontiguousarray(np.concatenate(parts, axis=1)).view("S36").ravel().astype(STR)


_HMS = np.array([f"T{h:02d}:{m:02d}:{s:02d}Z" for h in range(24) for m in range(60)
                 for s in range(60)], dtype=object)


def iso_times(start: date, t: np.ndarray) -> np.ndarray:
    """Day-index times (fractional days since `start`) → 'YYYY-MM-DDTHH:MM:SSZ' strings.

    Built from a table of the 86,400 clock times and one string per distinct day, so a batch
    costs a couple of array lookups instead of a formatting call per value.
    """
    t = np.asarray(t, dtype=float)
    if t.size == 0:
        return np.array([], dtype=object)
    secs = np.floor(t * 86400).astype(np.int64)
    day = secs // 86400
    lo = int(day.min())
    days = np.arange(lo, int(day.max()) + 1)
    names = np.datetime_as_string(np.datetime64(start, "D") + days.astype("timedelta64[D]"),
                                  unit="D").astype(object)
    return names[day - lo] + _HMS[secs - day * 86400]


def _json_token(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "null"
    if isinstance(v, np.generic):
        v = v.item()
    return json.dumps(v, ensure_ascii=False)


def _csv_token(v) -> str:
    if v is None:
        return ""
    s = str(v)
    if any(ch in s for ch in ',"\n\r'):
        return '"' + s.replace('"', '""') + '"'
    return s


_UNSAFE = {"jsonl": '"\\\n\r\t', "csv": ',"\n\r'}


def _tokens(fmt: str, name: str, col: np.ndarray, first: bool, last: bool) -> list[str]:
    """One column's rendered fields, each distinct value encoded once (pandas hashing).

    JSON fields carry their key (and the braces at the ends of the object), so a line is a
    plain comma-join of its fields.
    """
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    values = uniques.tolist() if hasattr(uniques, "tolist") else list(uniques)
    plain = pd.api.types.infer_dtype(uniques, skipna=False) == "string" and not any(
        ch in "\x00".join(values) for ch in _UNSAFE[fmt])
    if fmt == "jsonl":
        pre = ("{" if first else "") + json.dumps(name) + ":"
        post = "}" if last else ""
        if plain:
            table = [f'{pre}"{v}"{post}' for v in values]
        else:
            table = [pre + _json_token(v) + post for v in values]
        table.append(pre + "null" + post)
    else:
        table = values if plain else [_csv_token(v) for v in values]
        table.append("")
    return np.array(table, dtype=object)[codes].tolist()


def render(fmt: str, columns: tuple[str, ...], data: dict[str, np.ndarray]) -> list[str]:
    """Lines (without newline) of a CSV body or of JSON objects, built column-wise."""
    n = len(data[columns[0]])
    if n == 0:
        return []
    last = len(columns) - 1
    fields = [_tokens(fmt, name, np.asarray(data[name]).astype(object), k == 0, k == last)
              for k, name in enumerate(columns)]
    return list(map(",".join, zip(*fields, strict=True)))
