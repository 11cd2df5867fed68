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
nothing else, so the data cannot tell the two apart at the till; this scope shows how the
resolver does where the data allows a right answer.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pandas as pd

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

    def as_text(self) -> str:
        return (
            f"precision {self.precision:.4f}  recall {self.recall:.4f}  "
            f"people split {self.split_share:.2%} ({self.people_split}/{self.people})\n"
            f"records scored {self.records_scored} (missing from the warehouse: "
            f"{self.missing_records}), customers {self.customers}, merged pairs "
            f"{self.merged_pairs}, true pairs {self.true_pairs}, correct {self.correct_pairs}"
        )


def _pairs(sizes: pd.Series) -> int:
    sizes = sizes.astype("int64")
    return int((sizes * (sizes - 1) // 2).sum())


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
    scored = merged[merged["_merge"] == "both"].drop(columns="_merge").copy()
    # a record without a customer is a customer of its own: it merges with nothing
    unresolved = scored["customer_id"].isna()
    scored.loc[unresolved, "customer_id"] = (
        "unresolved:"
        + scored.loc[unresolved, "record_type"]
        + ":"
        + scored.loc[unresolved, "record_id"]
    )
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
        precision=correct_pairs / merged_pairs if merged_pairs else 1.0,
        recall=correct_pairs / true_pairs if true_pairs else 1.0,
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
