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
    dash = np.full((n, 1), _DASH, np.uint8)
    parts = [hexed[:, :8], dash, hexed[:, 8:12], dash, hexed[:, 12:16], dash, hexed[:, 16:20],
             dash, hexed[:, 20:]]
    return np.ascontiguousarray(np.concatenate(parts, axis=1)).view("S36").ravel().astype(STR)


def iso_times(start: date, t: np.ndarray) -> np.ndarray:
    """Day-index times (fractional days since `start`) → 'YYYY-MM-DDTHH:MM:SSZ' strings."""
    secs = np.floor(np.asarray(t, dtype=float) * 86400).astype(np.int64)
    stamps = np.datetime64(start, "s") + secs.astype("timedelta64[s]")
    return np.strings.add(np.datetime_as_string(stamps, unit="s").astype(STR), "Z")


def _encode_unique(values: np.ndarray, encode, unsafe: str) -> np.ndarray:
    """Encode each distinct value once (pandas hashing), then broadcast: cheap for big batches.

    Mostly-distinct text columns (ids, timestamps) skip the per-value call when no value holds
    a character from `unsafe`: they only need quotes (JSON) or nothing (CSV).
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) > 64 and len(uniques) * 4 > len(values) and all(
            isinstance(u, str) for u in uniques[:64]):
        text = np.asarray(uniques, dtype=object)
        if all(isinstance(u, str) for u in text):
            as_str = text.astype(STR)
            clean = np.ones(len(as_str), bool)
            for ch in unsafe:
                clean &= np.strings.find(as_str, ch) < 0
            if clean.all():
                quoted = np.strings.add(np.strings.add(_QUOTE[encode], as_str), _QUOTE[encode])
                table = np.concatenate([quoted, np.array([encode(None)], dtype=STR)])
                return table[codes]
    table = np.array([encode(u) for u in uniques] + [None], dtype=object)
    table[-1] = encode(None)
    return table[codes].astype(STR)


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


_QUOTE = {}
_UNSAFE = {"jsonl": '"\\\n\r\t', "csv": ',"\n\r'}


def render(fmt: str, columns: tuple[str, ...], data: dict[str, np.ndarray]) -> list[str]:
    """Lines (without newline) of a CSV body or of JSON objects, built column-wise."""
    n = len(data[columns[0]])
    if n == 0:
        return []
    line = None
    for k, name in enumerate(columns):
        col = np.asarray(data[name], dtype=object) if not isinstance(data[name], np.ndarray) \
            else data[name]
        if col.dtype.kind in "if":
            col = col.astype(object)
        if fmt == "jsonl":
            tok = np.strings.add(("{" if k == 0 else ",") + json.dumps(name) + ":",
                                 _encode_unique(col.astype(object), _json_token,
                                                _UNSAFE["jsonl"]))
        else:
            tok = _encode_unique(col.astype(object), _csv_token, _UNSAFE["csv"])
            if k:
                tok = np.strings.add(",", tok)
        line = tok if line is None else np.strings.add(line, tok)
    if fmt == "jsonl":
        line = np.strings.add(line, "}")
    return line.tolist()


_QUOTE[_json_token] = '"'
_QUOTE[_csv_token] = ""
