"""Score identity resolution against the generator's hidden truth (pairwise precision/recall).

python -m orchestration.identity_score [--warehouse <db>] [--truth <landing>/_truth] [--raw <raw>]

A pair of source records is "merged" when both resolved to the same customer_id. Against
`_truth/records.csv` (which person each record belongs to):
- precision = merged pairs that are the same person / merged pairs. Records that belong to
  nobody (junk, anonymous cookies) are never a true pair, so merging them costs precision.
- recall = merged pairs that are the same person / pairs of records of the same person.
- split share = people whose records ended up under more than one customer (a record without
  a customer counts as its own) / people with at least two records.
Records the truth lists but the warehouse does not know (quarantined rows, deduplicated
exports) are left out of both sides and counted as `missing_records`.

Two scopes are reported. `all`: every record of the truth. `identifiable`: without the records
whose source row carries no identifier at all (a till receipt without card or phone, a survey
without e-mail or phone): no method can attribute those, so they only measure the data, not
the resolution. Which rows are anonymous is read from the raw zone, independently of dbt.
`identifiable_without_households` also leaves out the people of card-sharing households
(`_truth/people.csv` household_id): the partner shops with the holder's card and usually
nothing else, so the data cannot tell the two apart at the till.

`attributable` is the scope the issue's target is judged on (precision >= 0.995, recall >=
0.98 on M). Each raw record's identifiers are read from the raw zone and normalised crudely and
independently of dbt (e-mail lower-cased, phone = its last ten digits, card = its digits). An
identifier that the truth shows on the records of two or more people (a shared loyalty card, a
family phone, a placeholder e-mail) or that `_truth/junk_identifiers.csv` lists identifies
nobody. A record is attributable when at least one of its identifiers identifies exactly one
person; the others (a receipt with nothing but a shared card, a receipt with a store phone)
cannot be attributed by any identifier-based method, whichever of the people it belongs to.
Its recall counts only the *linkable* pairs: two records of one person that a chain of that
person's own records sharing person-specific identifiers connects. A cookie that never logged
in, or a card whose holder left no contact details, is a person's record nothing in the data
ties to the rest of them; no resolver can be asked to merge it.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from orchestration.config import get_settings

RESOLVED_RELATION = "intermediate.int_source_records_resolved"

# record type → (raw table folder, id column, identifier columns) for the record types whose
# rows may carry no identifier at all; the others are identifiers themselves (contact id,
# card number, cookie, address).
_ANONYMOUS_CAPABLE = {
    "pos_receipt": ("pos/receipts", "receipt_id", ("loyalty_card_number", "customer_phone")),
    "survey_response": ("surveys/responses", "response_id", ("email", "phone")),
    "shop_order": ("shop/orders", "order_id", ("user_id", "email", "phone", "anonymous_id")),
}


@dataclass(frozen=True)
class IdentityScore:
    precision: float
    recall: float
    split_share: float
    records_scored: int
    missing_records: int
    merged_pairs: int
    true_pairs: int
    correct_pairs: int
    people: int
    people_split: int
    customers: int
    # scope `attributable`: recall counts the linkable pairs only (module doc)
    linkable_pairs: int | None = None
    linkable_pairs_merged: int | None = None

    def as_text(self) -> str:
        text = (
            f"precision {self.precision:.4f}  recall {self.recall:.4f}  "
            f"people split {self.split_share:.2%} ({self.people_split}/{self.people})\n"
            f"records scored {self.records_scored} (missing from the warehouse: "
            f"{self.missing_records}), customers {self.customers}, merged pairs "
            f"{self.merged_pairs}, true pairs {self.true_pairs}, correct {self.correct_pairs}"
        )
        if self.linkable_pairs is not None:
            text += (
                f"\nrecall is over linkable pairs: {self.linkable_pairs_merged} of "
                f"{self.linkable_pairs} merged (over every true pair: "
                f"{self.correct_pairs / max(self.true_pairs, 1):.4f})"
            )
        return text


def _pairs(sizes: pd.Series) -> int:
    sizes = sizes.astype("int64")
    return int((sizes * (sizes - 1) // 2).sum())


def _share(part: int, whole: int) -> float:
    """part / whole, 1.0 when there is nothing to count (no pair is a perfect score)."""
    return part / whole if whole else 1.0


def _unresolved_alone(scored: pd.DataFrame) -> pd.DataFrame:
    """A record without a customer is a customer of its own: it merges with nothing."""
    unresolved = scored["customer_id"].isna()
    scored.loc[unresolved, "customer_id"] = (
        "unresolved:"
        + scored.loc[unresolved, "record_type"]
        + ":"
        + scored.loc[unresolved, "record_id"]
    )
    return scored


def score(resolved: pd.DataFrame, truth: pd.DataFrame) -> IdentityScore:
    """resolved: record_type, record_id, customer_id; truth: record_type, record_id, person_id."""
    truth = truth.assign(person_id=truth["person_id"].replace("", pd.NA))
    merged = truth.merge(
        resolved[["record_type", "record_id", "customer_id"]],
        on=["record_type", "record_id"],
        how="left",
        indicator=True,
    )
    missing = int((merged["_merge"] == "left_only").sum())
    scored = _unresolved_alone(merged[merged["_merge"] == "both"].drop(columns="_merge").copy())
    merged_pairs = _pairs(scored.groupby("customer_id").size())
    people = scored[scored["person_id"].notna()]
    true_pairs = _pairs(people.groupby("person_id").size())
    correct_pairs = _pairs(people.groupby(["person_id", "customer_id"]).size())
    per_person = people.groupby("person_id").agg(
        records=("record_id", "size"), customers=("customer_id", "nunique")
    )
    multi = per_person[per_person["records"] >= 2]
    people_split = int((multi["customers"] > 1).sum())
    return IdentityScore(
        precision=_share(correct_pairs, merged_pairs),
        recall=_share(correct_pairs, true_pairs),
        split_share=people_split / len(multi) if len(multi) else 0.0,
        records_scored=len(scored),
        missing_records=missing,
        merged_pairs=merged_pairs,
        true_pairs=true_pairs,
        correct_pairs=correct_pairs,
        people=len(multi),
        people_split=people_split,
        customers=int(scored["customer_id"].nunique()),
    )


def read_truth(truth_dir: Path) -> pd.DataFrame:
    path = truth_dir / "records.csv"
    if not path.is_file():
        raise FileNotFoundError(f"no truth file at {path}: point --truth at <landing>/_truth")
    return pd.read_csv(path, dtype=str, keep_default_na=False)[
        ["record_type", "record_id", "person_id"]
    ]


def read_resolved(warehouse: Path) -> pd.DataFrame:
    if not warehouse.is_file():
        raise FileNotFoundError(f"no warehouse at {warehouse}: run the dbt build first")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            f"select record_type, record_id, customer_id from {RESOLVED_RELATION}"
        ).df()


def read_anonymous_records(raw_dir: Path) -> pd.DataFrame:
    """record_type, record_id of raw rows whose identifier columns are all empty."""
    frames = []
    with duckdb.connect() as con:
        for record_type, (folder, id_column, columns) in _ANONYMOUS_CAPABLE.items():
            files = raw_dir / folder
            if not files.is_dir():
                raise FileNotFoundError(f"no raw table at {files}: run extraction first")
            empty = " and ".join(f"coalesce(trim({c}), '') = ''" for c in columns)
            frames.append(
                con.execute(
                    f"select distinct '{record_type}' as record_type, {id_column} as record_id "
                    f"from read_parquet('{files}/**/*.parquet', union_by_name = true) "
                    f"where {empty}"
                ).df()
            )
    return pd.concat(frames, ignore_index=True)


# Crude, dbt-independent normalisation for the evidence scopes (see the module doc).
_EMAIL = "case when {c} like '%@%' then 'email:' || lower(trim({c})) end"
_PHONE = (
    "case when length(regexp_replace({c}, '[^0-9]', '', 'g')) >= 10 then 'phone:' || "
    "right(regexp_replace({c}, '[^0-9]', '', 'g'), 10) end"
)
_DIGITS = "case when regexp_replace({c}, '[^0-9]', '', 'g') <> '' then '{t}:' || "
_DIGITS += "regexp_replace({c}, '[^0-9]', '', 'g') end"
_TEXT = "case when trim({c}) <> '' then '{t}:' || trim({c}) end"


def _keys(*exprs: str) -> str:
    return "[" + ", ".join(exprs) + "]"


# record type -> (raw table, record id expression, identifier key expressions)
_EVIDENCE = {
    "crm_contact": (
        "crm/contacts",
        "contact_id",
        _keys(
            _TEXT.format(c="contact_id", t="crm"),
            _EMAIL.format(c="email"),
            _PHONE.format(c="phone"),
            _TEXT.format(c="telegram_id", t="telegram"),
            _TEXT.format(c="vk_id", t="vk"),
        ),
    ),
    "shop_order": (
        "shop/orders",
        "order_id",
        _keys(
            _TEXT.format(c="user_id", t="crm"),
            _EMAIL.format(c="email"),
            _PHONE.format(c="phone"),
            _TEXT.format(c="anonymous_id", t="cookie"),
        ),
    ),
    "pos_receipt": (
        "pos/receipts",
        "receipt_id",
        _keys(_DIGITS.format(c="loyalty_card_number", t="card"), _PHONE.format(c="customer_phone")),
    ),
    "loyalty_card": (
        "loyalty/cards",
        "card_number",
        _keys(
            _DIGITS.format(c="card_number", t="card"),
            _EMAIL.format(c="email"),
            _PHONE.format(c="phone"),
        ),
    ),
    "web_cookie": (
        "web/events",
        "anonymous_id",
        _keys(
            _TEXT.format(c="anonymous_id", t="cookie"),
            _TEXT.format(c="user_id", t="crm"),
            _EMAIL.format(c="email"),
        ),
    ),
    "messaging_address": (
        "messaging/events",
        "channel || ':' || address",
        _keys(
            f"case when channel = 'email' then {_EMAIL.format(c='address')} end",
            f"case when channel in ('sms', 'whatsapp') then {_PHONE.format(c='address')} end",
            f"case when channel = 'telegram' then {_TEXT.format(c='address', t='telegram')} end",
        ),
    ),
    "survey_response": (
        "surveys/responses",
        "response_id",
        _keys(_EMAIL.format(c="email"), _PHONE.format(c="phone")),
    ),
}


def read_record_identifiers(raw_dir: Path) -> pd.DataFrame:
    """record_type, record_id, key: every identifier each raw record carries, normalised."""
    selects = []
    for record_type, (folder, id_expr, keys) in _EVIDENCE.items():
        files = raw_dir / folder
        if not files.is_dir():
            raise FileNotFoundError(f"no raw table at {files}: run extraction first")
        selects.append(
            f"select distinct '{record_type}' as record_type, {id_expr} as record_id, "
            f"unnest({keys}) as key "
            f"from read_parquet('{files}/**/*.parquet', union_by_name = true)"
        )
    with duckdb.connect() as con:
        return con.execute(
            "select * from (" + " union all ".join(selects) + ") where key is not null"
        ).df()


def read_junk_keys(truth_dir: Path) -> set[str]:
    path = truth_dir / "junk_identifiers.csv"
    if not path.is_file():
        return set()
    junk = pd.read_csv(path, dtype=str, keep_default_na=False)
    keys = set()
    with duckdb.connect() as con:
        con.register("junk", junk)
        for (key,) in con.execute(
            "select case when identifier_type = 'email' then "
            + _EMAIL.format(c="value")
            + " else "
            + _PHONE.format(c="value")
            + " end from junk"
        ).fetchall():
            if key:
                keys.add(key)
    return keys


def evidence_scope(
    truth: pd.DataFrame, identifiers: pd.DataFrame, junk_keys: set[str]
) -> tuple[pd.DataFrame, pd.Series]:
    """The attributable records of `truth` and, for each, the id of its linkable group (records
    of one person connected by person-specific identifiers); see the module doc."""
    people = truth[truth["person_id"] != ""]
    observed = identifiers.merge(people, on=["record_type", "record_id"], how="inner")
    observed = observed[~observed["key"].isin(junk_keys)]
    owners = observed.groupby("key")["person_id"].nunique()
    personal = observed[observed["key"].isin(owners.index[owners == 1])]
    records = (
        personal[["record_type", "record_id", "person_id"]].drop_duplicates().reset_index(drop=True)
    )
    # records and person-specific identifiers as one bipartite graph: components = linkable groups
    record_index = pd.MultiIndex.from_frame(records[["record_type", "record_id"]])
    observed_index = pd.MultiIndex.from_frame(personal[["record_type", "record_id"]])
    rows = record_index.get_indexer(observed_index)
    key_codes, _ = pd.factorize(personal["key"])
    n = len(records) + int(key_codes.max(initial=-1)) + 1
    graph = coo_matrix((np.ones(len(rows)), (rows, key_codes + len(records))), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return records, pd.Series(labels[: len(records)], index=records.index, name="group")


def linkable_pairs(
    resolved: pd.DataFrame, records: pd.DataFrame, groups: pd.Series
) -> tuple[int, int]:
    """(linkable pairs merged, linkable pairs): pairs of one person's records connected by
    their own identifiers, and how many of them share a customer."""
    scored = records.assign(group=groups).merge(
        resolved[["record_type", "record_id", "customer_id"]],
        on=["record_type", "record_id"],
        how="inner",
    )
    scored = _unresolved_alone(scored)
    linkable = _pairs(scored.groupby("group").size())
    merged = _pairs(scored.groupby(["group", "customer_id"]).size())
    return merged, linkable


def linkable_recall(resolved: pd.DataFrame, records: pd.DataFrame, groups: pd.Series) -> float:
    """Share of linkable pairs merged (1.0 when there are none)."""
    return _share(*linkable_pairs(resolved, records, groups))


def score_warehouse(
    warehouse: Path, truth_dir: Path, raw_dir: Path | None = None
) -> dict[str, IdentityScore]:
    """Scores for scope `all` and, when the raw zone is given, `identifiable`."""
    resolved, truth = read_resolved(warehouse), read_truth(truth_dir)
    scores = {"all": score(resolved, truth)}
    if raw_dir is not None:
        anonymous = read_anonymous_records(raw_dir)
        keys = ["record_type", "record_id"]
        flagged = truth.merge(anonymous.assign(_anonymous=True), on=keys, how="left")
        identifiable = flagged[flagged["_anonymous"].isna()].drop(columns="_anonymous")
        scores["identifiable"] = score(resolved, identifiable)
        people_path = truth_dir / "people.csv"
        if people_path.is_file():
            people = pd.read_csv(people_path, dtype=str, keep_default_na=False)
            households = set(people.loc[people["household_id"] != "", "person_id"])
            scores["identifiable_without_households"] = score(
                resolved, identifiable[~identifiable["person_id"].isin(households)]
            )
        records, groups = evidence_scope(
            truth, read_record_identifiers(raw_dir), read_junk_keys(truth_dir)
        )
        merged, linkable = linkable_pairs(resolved, records, groups)
        scores["attributable"] = replace(
            score(resolved, records),
            recall=_share(merged, linkable),
            linkable_pairs=linkable,
            linkable_pairs_merged=merged,
        )
    return scores


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=settings.warehouse_path)
    parser.add_argument("--truth", type=Path, default=settings.landing_dir / "_truth")
    parser.add_argument("--raw", type=Path, default=settings.raw_dir)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    try:
        results = score_warehouse(args.warehouse, args.truth, args.raw)
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({scope: asdict(r) for scope, r in results.items()}, indent=2))
    else:
        for scope, result in results.items():
            print(f"[{scope}]\n{result.as_text()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
