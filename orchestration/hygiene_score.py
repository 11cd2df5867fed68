"""Score the hygiene marts against the generator's hidden truth (stale time zones, inactivity).

    python -m orchestration.hygiene_score [--warehouse PATH] [--truth DIR]

Defaults come from orchestration.config (CLIENTBASE_DATA_DIR): the warehouse dbt built and
`landing/_truth/`. Customers are mapped to people through identity's int_source_records_resolved
and the truth's records.csv: a customer is the person most of its source records belong to.
"""

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.config import get_settings

HYGIENE_TABLE = "marts.contact_hygiene"


@dataclass(frozen=True)
class BinaryScore:
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int

    @property
    def precision(self) -> float:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        actual = self.true_positives + self.false_negatives
        return self.true_positives / actual if actual else 1.0

    @property
    def agreement(self) -> float:
        right = self.true_positives + self.true_negatives
        total = right + self.false_positives + self.false_negatives
        return right / total if total else 1.0

    def as_dict(self) -> dict:
        return {
            **asdict(self),
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "agreement": round(self.agreement, 4),
        }


def score(predicted: pd.Series, actual: pd.Series) -> BinaryScore:
    predicted, actual = predicted.astype(bool), actual.astype(bool)
    return BinaryScore(
        true_positives=int((predicted & actual).sum()),
        false_positives=int((predicted & ~actual).sum()),
        false_negatives=int((~predicted & actual).sum()),
        true_negatives=int((~predicted & ~actual).sum()),
    )


def read_truth(truth_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    people = pd.read_csv(truth_dir / "people.csv", dtype=str, keep_default_na=False)
    for column in ("is_inactive", "is_never_active"):
        people[column] = people[column].eq("true")
    people["has_moved"] = people["moved_at"].ne("")
    people = people.rename(columns=lambda c: c if c == "person_id" else f"truth_{c}")
    records = pd.read_csv(truth_dir / "records.csv", dtype=str, keep_default_na=False)
    return people, records[records["person_id"].ne("")]


def customer_people(connection: duckdb.DuckDBPyConnection, records: pd.DataFrame) -> pd.DataFrame:
    """customer_id → person_id: the person owning most of the customer's source records."""
    connection.register("truth_records", records[["record_type", "record_id", "person_id"]])
    return connection.execute(
        """
        with votes as (
            select r.customer_id, t.person_id, count(*) as record_count
            from intermediate.int_source_records_resolved as r
            inner join truth_records as t
                on r.record_type = t.record_type and r.record_id = t.record_id
            where r.customer_id is not null
            group by 1, 2
        ),
        ranked as (
            select *, row_number() over (
                partition by customer_id order by record_count desc, person_id
            ) as vote_rank
            from votes
        )
        select customer_id, person_id from ranked where vote_rank = 1
        """
    ).df()


def hygiene_scores(warehouse: Path, truth_dir: Path) -> dict:
    people, records = read_truth(truth_dir)
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        mapping = customer_people(connection, records)
        hygiene = connection.execute(
            f"""
            select customer_id, profile_time_zone, inferred_time_zone, current_time_zone,
                   is_time_zone_stale, is_inactive, is_never_active
            from {HYGIENE_TABLE}
            """
        ).df()
    joined = hygiene.merge(mapping, on="customer_id").merge(people, on="person_id")
    with_profile = joined[joined["profile_time_zone"].notna()]
    stale = score(with_profile["is_time_zone_stale"], with_profile["truth_has_moved"])
    movers = joined[joined["truth_has_moved"] & joined["is_time_zone_stale"]]
    inactive = score(joined["is_inactive"], joined["truth_is_inactive"])
    never = score(joined["is_never_active"], joined["truth_is_never_active"])
    return {
        "customers": len(hygiene),
        "customers_mapped_to_people": len(joined),
        "stale_time_zone": stale.as_dict(),
        "stale_time_zone_inferred_correctly": round(
            float((movers["inferred_time_zone"] == movers["truth_current_time_zone"]).mean())
            if len(movers)
            else 1.0,
            4,
        ),
        "inactive": inactive.as_dict(),
        "never_active": never.as_dict(),
    }


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=settings.warehouse_path)
    parser.add_argument("--truth", type=Path, default=settings.landing_dir / "_truth")
    args = parser.parse_args(argv)
    print(json.dumps(hygiene_scores(args.warehouse, args.truth), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
